"""Sentence splitting and chunking with exact character offsets (pure functions).

Every span is a ``(start, end)`` pair of offsets into the text it was computed from, so
``text[start:end]`` is the sentence or chunk, and a citation can point back into the article.
"""

from __future__ import annotations

import re

# Abbreviations whose final period never ends a sentence ("Mr. Son", "U.S. officials").
ABBREVIATIONS = frozenset(
    """mr mrs ms mx dr prof sr jr st mt ft gen col lt sgt capt cmdr adm rev gov sen rep pres
    hon inc ltd co corp plc llc bros dept univ assn est approx vs etc fig figs al cf ca
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    u.s u.k u.n u.s.a e.g i.e a.m p.m ph.d b.a m.a d.c""".split()
)
# Abbreviations that only stand before a number ("No. 10", "pp. 4-6"): "say no. Then" splits.
NUMBER_ABBREVIATIONS = frozenset("no nos vol vols pp p art sec ch".split())

# A run of terminal marks, closing quotes/brackets, then whitespace or the end; or a line break.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s|$)|\n")
_NEXT_VISIBLE = re.compile(r"\s*(\S)")
_SPACE_THEN_WORD = re.compile(r"\s+(?=\S)")
_CLAUSE_BREAK = re.compile(r"[,;:–—](?=\s)")


def _word_before(text: str, pos: int, floor: int) -> str:
    """The token (letters, digits, dots) that ends at ``pos``, lower-cased."""
    i = pos
    while i > floor and (text[i - 1].isalnum() or text[i - 1] == "."):
        i -= 1
    return text[i:pos].lower()


def _is_sentence_end(text: str, mark: re.Match, cursor: int, end: int) -> bool:
    """Decide whether a terminal mark really ends a sentence."""
    nxt = _NEXT_VISIBLE.match(text, mark.end(), end)
    following = nxt.group(1) if nxt else ""
    if following.islower():  # '"Is it?" he asked.' and 'e.g. this' carry on
        return False
    if mark.group()[0] == "." and len(mark.group()) == 1:
        word = _word_before(text, mark.start(), cursor)
        if word in ABBREVIATIONS:
            return False
        if word in NUMBER_ABBREVIATIONS and following.isdigit():
            return False
        if len(word) == 1 and word.isalpha():  # initials: "J. K. Rowling"
            return False
    return True


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]`` as ``(start, end)`` offsets into ``text``.

    Spans are trimmed of surrounding whitespace. A line break always ends a sentence
    (headlines, captions, list items); abbreviations, initials and decimals do not.
    Linear in the length of the text.

    >>> t = 'Mr. Son paid $2.4bn to U.S. firms. "It was big!" he said. Really?'
    >>> [t[s:e] for s, e in split_sentences(t)]
    ['Mr. Son paid $2.4bn to U.S. firms.', '"It was big!" he said.', 'Really?']
    >>> u = "Headline\\n\\nFirst line. No. 10 said no. Then 2.5 per cent."
    >>> [u[s:e] for s, e in split_sentences(u)]
    ['Headline', 'First line.', 'No. 10 said no.', 'Then 2.5 per cent.']
    >>> split_sentences("One. Two.", start=5)
    [(5, 9)]
    """
    end = len(text) if end is None else min(end, len(text))
    spans: list[tuple[int, int]] = []
    cursor = start
    for mark in _BOUNDARY.finditer(text, start, end):
        if mark.group() == "\n":
            _add_trimmed(text, spans, cursor, mark.start())
        elif _is_sentence_end(text, mark, cursor, end):
            _add_trimmed(text, spans, cursor, mark.end())
        else:
            continue
        cursor = mark.end()
    _add_trimmed(text, spans, cursor, end)
    return spans


def _add_trimmed(text: str, spans: list[tuple[int, int]], s: int, e: int) -> None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e > s:
        spans.append((s, e))


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
        _add_trimmed(text, pieces, s, cut)
        s = cut
        while s < e and text[s].isspace():
            s += 1
    _add_trimmed(text, pieces, s, e)
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
