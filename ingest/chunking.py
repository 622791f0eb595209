"""Chunking with exact character offsets (pure functions); sentences come from ``rag.text``.

Every span is a ``(start, end)`` pair of offsets into the text it was computed from, so
``text[start:end]`` is the sentence or chunk, and a citation can point back into the article.
"""

from __future__ import annotations

import re

from rag.text import add_trimmed, split_sentences

_SPACE_THEN_WORD = re.compile(r"\s+(?=\S)")
_CLAUSE_BREAK = re.compile(r"[,;:–—](?=\s)")


def _cut_long(text: str, s: int, e: int, size: int) -> list[tuple[int, int]]:
    """Cut a span longer than ``size`` at clause breaks, else whitespace, else hard."""
    pieces = []
    while e - s > size:
        window_lo, window_hi = s + size // 2, s + size
        cut = -1
        for m in _CLAUSE_BREAK.finditer(text, window_lo, window_hi):
            cut = m.end()
        if cut < 0:
            cut = max((text.rfind(c, window_lo, window_hi) for c in " \n\t"), default=-1)
        if cut <= s:
            cut = window_hi
        add_trimmed(text, pieces, s, cut)
        s = cut
        while s < e and text[s].isspace():
            s += 1
    add_trimmed(text, pieces, s, e)
    return pieces


def _pieces(text: str, size: int) -> list[tuple[int, int]]:
    """Sentences, with the ones longer than ``size`` cut into parts that fit."""
    out: list[tuple[int, int]] = []
    for s, e in split_sentences(text):
        out.extend(_cut_long(text, s, e, size) if e - s > size else [(s, e)])
    return out


def _paragraph_end(text: str, pieces, start: int, fresh: int, q: int, size: int) -> int:
    """Prefer ending a chunk at a paragraph break once it is at least 60% full (and holds
    the first fresh piece)."""
    for m in range(q, fresh - 1, -1):
        if pieces[m][1] - start < 0.6 * size:
            break
        if "\n\n" in text[pieces[m][1] : pieces[m + 1][0]]:
            return m
    return q


def _next_start(text: str, pieces, prev: tuple[int, int], q: int, size: int, overlap: int) -> int:
    """Where the chunk after ``prev`` (which ends with piece ``q``) starts: whole sentences
    worth about ``overlap`` characters before piece ``q + 1``, else a word boundary, so the
    next chunk shares context with this one and still fits ``size``."""
    prev_start, prev_end = prev
    next_end = pieces[q + 1][1]
    fits = lambda at: at > prev_start and next_end - at <= size  # noqa: E731
    k = q + 1
    while k - 1 >= 0 and prev_end - pieces[k - 1][0] <= overlap and fits(pieces[k - 1][0]):
        k -= 1
    if k == q + 1 and overlap and prev_end - pieces[q][0] <= 1.5 * overlap and fits(pieces[q][0]):
        k = q  # one sentence a little longer than the overlap is still "about" it
    if k <= q:
        return pieces[k][0]
    budget = min(overlap, size - (next_end - prev_end))
    if overlap and budget >= overlap // 2:
        m = _SPACE_THEN_WORD.search(text, max(prev_end - budget, prev_start + 1), prev_end)
        if m and fits(m.end()):
            return m.end()
    return pieces[q + 1][0]


def chunk_text(text: str, chunk_size: int, overlap: int) -> list[tuple[int, int]]:
    """Chunks of at most ``chunk_size`` characters as ``(start, end)`` offsets into ``text``.

    Chunks end at sentence breaks, preferably paragraph breaks; a sentence longer than
    ``chunk_size`` is cut at a clause break or whitespace (a hard cut as the last resort).
    Neighbouring chunks share about ``overlap`` characters, starting at a sentence where
    possible. Chunks start and end on non-space characters, starts strictly increase, and
    together they cover every non-space character of the text.

    >>> t = "One two. Three four. Five six. Seven eight."
    >>> [t[s:e] for s, e in chunk_text(t, 22, 11)]
    ['One two. Three four.', 'Three four. Five six.', 'Five six. Seven eight.']
    >>> p = "First paragraph here.\\n\\nSecond one. And more."
    >>> [p[s:e] for s, e in chunk_text(p, 34, 0)]
    ['First paragraph here.', 'Second one. And more.']
    >>> chunk_text("   ", 100, 10)
    []
    """
    if chunk_size < 1 or overlap < 0:
        raise ValueError("chunk_size must be positive and overlap not negative")
    pieces = _pieces(text, chunk_size)
    spans: list[tuple[int, int]] = []
    start = pieces[0][0] if pieces else 0
    fresh = 0  # the first piece no chunk holds yet; each chunk must take it
    while fresh < len(pieces):
        q = fresh
        while q + 1 < len(pieces) and pieces[q + 1][1] - start <= chunk_size:
            q += 1
        if q + 1 < len(pieces):
            q = _paragraph_end(text, pieces, start, fresh, q, chunk_size)
        spans.append((start, pieces[q][1]))
        if q + 1 == len(pieces):
            break
        start = _next_start(text, pieces, spans[-1], q, chunk_size, overlap)
        fresh = q + 1
    return spans


# The name used before chunk_text existed; same function.
chunk_spans = chunk_text
