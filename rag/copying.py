"""Copy-only decoding: the model may write nothing but a run of words from its sources.

A 270M model asked to answer from a sentence often writes a plausible phrase that is not
in it (on 200 SQuAD v2 questions: 33% of answers could not be found in the source). With
its next token restricted to those that continue a copied run of source words, every answer
is a verbatim span, and the model only chooses where the span starts and stops.

Token ids here are plain integers, so the logic is tested without a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SourceTokens:
    """One source as the model's tokens; ``word_start[i]``: token i begins a word."""

    ids: tuple[int, ...]
    word_start: tuple[bool, ...]
    boundary: tuple[bool, ...]  # a copied run may stop before token i (or at the end)


def source_tokens(ids: Sequence[int], pieces: Sequence[str]) -> SourceTokens:
    """Mark word starts (a piece that begins with a space) and the places a run may stop:
    before a new word or punctuation, never inside a word.

    >>> s = source_tokens([1, 2, 3, 4], [" in", " 1", "060s", "."])
    >>> s.word_start, s.boundary
    ((True, True, False, False), (True, True, False, True))
    """
    starts = tuple(p[:1].isspace() for p in pieces)
    boundary = tuple(st or not p[:1].isalnum() for st, p in zip(starts, pieces, strict=True))
    return SourceTokens(tuple(ids), starts, boundary)


class CopyConstraint:
    """Which tokens may come next so that the output stays a copied run of words.

    >>> c = CopyConstraint([source_tokens([5, 6, 7], [" a", " b", "c"])], stop=0)
    >>> sorted(c.allowed([])), sorted(c.allowed([6])), sorted(c.allowed([6, 7]))
    ([5, 6], [7], [0])
    >>> sorted(c.allowed([5]))  # stop after " a", or go on with " b"
    [0, 6]
    """

    def __init__(self, sources: Sequence[SourceTokens], stop: int):
        self.sources = list(sources)
        self.stop = stop

    def _matches(self, generated: Sequence[int]) -> list[tuple[int, int]]:
        """(source, index after the run) for every place the generated run was copied from."""
        n = len(generated)
        found = []
        for s, src in enumerate(self.sources):
            for i in range(len(src.ids) - n + 1):
                if src.word_start[i] and tuple(src.ids[i : i + n]) == tuple(generated):
                    found.append((s, i + n))
        return found

    def allowed(self, generated: Sequence[int]) -> set[int]:
        """Token ids that may come next (``stop`` ends the answer)."""
        if not generated:
            return {src.ids[i] for src in self.sources for i, st in enumerate(src.word_start) if st}
        out: set[int] = set()
        for s, end in self._matches(generated):
            src = self.sources[s]
            if end == len(src.ids) or src.boundary[end]:
                out.add(self.stop)
            if end < len(src.ids):
                out.add(src.ids[end])
        return out
