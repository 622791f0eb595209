"""Sentence splitting and chunking with exact character offsets (pure functions)."""

from __future__ import annotations

import re

_ABBREV = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "gen",
        "col",
        "lt",
        "sgt",
        "rev",
        "gov",
        "sen",
        "rep",
        "inc",
        "ltd",
        "co",
        "corp",
        "vs",
        "etc",
        "no",
        "fig",
        "al",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
        "e.g",
        "i.e",
    ]
)
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+|$)|\n")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]`` as (start, end) offsets into ``text``.

    Spans exclude surrounding whitespace; a line break always ends a sentence (headlines,
    captions), abbreviations and decimals do not.

    >>> t = "Mr. Son paid $2.4bn. It was big! Really?"
    >>> [t[s:e] for s, e in split_sentences(t)]
    ['Mr. Son paid $2.4bn.', 'It was big!', 'Really?']
    >>> u = "A b.\\n\\nC d\\nE"
    >>> [u[s:e] for s, e in split_sentences(u)]
    ['A b.', 'C d', 'E']
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for m in _BOUNDARY.finditer(text, start, end):
        stop = m.end() if m.group().strip() else m.start()
        if m.group()[0] == ".":
            word = re.search(r"([\w.]+)$", text[cursor : m.start()])
            token = word.group(1).lower() if word else ""
            if token in _ABBREV or (len(token) == 1 and token.isalpha()):
                continue
            if m.end() < end and not text[m.end() : m.end() + 1].isspace():
                continue
            nxt = re.match(r"\s+(\S)", text[m.end() : end])
            if nxt and nxt.group(1).islower():
                continue
        _add(text, spans, cursor, stop)
        cursor = m.end()
    _add(text, spans, cursor, end)
    return spans


def _add(text: str, spans: list[tuple[int, int]], s: int, e: int) -> None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e > s:
        spans.append((s, e))


def chunk_spans(text: str, chunk_size: int, overlap: int) -> list[tuple[int, int]]:
    """Chunks of about ``chunk_size`` characters made of whole sentences where possible.

    Neighbouring chunks share about ``overlap`` characters (whole sentences); a sentence
    longer than ``chunk_size`` is cut at whitespace. Chunks cover every sentence.

    >>> t = "One two. Three four. Five six. Seven eight."
    >>> [t[s:e] for s, e in chunk_spans(t, 22, 11)]
    ['One two. Three four.', 'Three four. Five six.', 'Five six. Seven eight.']
    """
    pieces: list[tuple[int, int]] = []
    for s, e in split_sentences(text):
        while e - s > chunk_size:
            cut = text.rfind(" ", s + chunk_size // 2, s + chunk_size)
            cut = cut if cut > s else s + chunk_size
            piece_end = cut
            while piece_end > s and text[piece_end - 1].isspace():
                piece_end -= 1
            pieces.append((s, piece_end))
            s = cut
            while s < e and text[s].isspace():
                s += 1
        if e > s:
            pieces.append((s, e))
    chunks: list[tuple[int, int]] = []
    i = 0
    while i < len(pieces):
        j = i
        while j + 1 < len(pieces) and pieces[j + 1][1] - pieces[i][0] <= chunk_size:
            j += 1
        chunks.append((pieces[i][0], pieces[j][1]))
        if j + 1 >= len(pieces):
            break
        k = j + 1
        while k - 1 > i and pieces[j][1] - pieces[k - 1][0] <= overlap:
            k -= 1
        i = k
    return chunks
