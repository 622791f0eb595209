"""Tie a generated answer to the exact words of a passage, or reject it.

The model's output is never shown as is: it is mapped onto a verbatim span of the
evidence, so every answer can be checked against the cited article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import token_f1, words

_ARTICLES = frozenset({"a", "an", "the"})
FILLER = _ARTICLES | frozenset("in on at of to by for from with and or as is was be it its".split())
_EDGE_JUNK = " \t\n.,;:!?\"'()[]“”‘’"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    overlap: float  # token F1 between the model's answer and the span


def clean_answer(text: str) -> str:
    """Trim a raw completion to the answer itself.

    >>> clean_answer('  "$3 billion a year." [1]')
    '$3 billion a year'
    """
    text = re.sub(r"\[\d+\]", "", text)
    return text.strip(_EDGE_JUNK).strip()


def best_span(answer: str, passage: str, max_extra: int = 2) -> Span | None:
    """The passage span whose words best match ``answer`` (token F1), or None.

    >>> p = "SoftBank will also pay OpenAI $3 billion (£2.4bn) a year to use its services."
    >>> s = best_span("3 billion dollars", p); p[s.start:s.end]
    '$3 billion'
    >>> best_span("Tokyo", p) is None
    True
    >>> best_span("in the", "It was built in the north.") is None  # filler words only
    True
    """
    target = [w for w, _, _ in words(answer) if w not in _ARTICLES]
    tokens = words(passage)
    if not target or not tokens:
        return None
    best: Span | None = None
    longest = len(target) + max_extra
    for i in range(len(tokens)):
        if tokens[i][0] in _ARTICLES:
            continue
        for j in range(i, min(len(tokens), i + longest)):
            window = [w for w, _, _ in tokens[i : j + 1] if w not in _ARTICLES]
            score = token_f1(window, target)
            if score > 0 and (best is None or score > best.overlap + 1e-9):
                best = Span(tokens[i][1], tokens[j][2], score)
    if best is None or all(w in FILLER for w, s, _ in tokens if best.start <= s < best.end):
        return None
    # Keep brackets balanced: "$3 billion (£2.4bn)" rather than "$3 billion (£2.4bn".
    text = passage[best.start : best.end]
    if text.count("(") > text.count(")") and passage[best.end : best.end + 1] == ")":
        best = Span(best.start, best.end + 1, best.overlap)
    # A currency sign belongs to the number after it: "$3" rather than "3".
    if best.start > 0 and passage[best.start - 1] in "$£€":
        best = Span(best.start - 1, best.end, best.overlap)
    return best


def sentence_containing(spans: list[tuple[int, int]], start: int, end: int) -> int | None:
    """Index of the sentence span that contains [start, end), or None.

    >>> sentence_containing([(0, 10), (11, 30)], 12, 20)
    1
    """
    for i, (s, e) in enumerate(spans):
        if s <= start and end <= e:
            return i
    return None


_NAME_RUN = re.compile(r"[A-Z][\w'’&-]*(?:\s+(?:(?:of|de|da|von|van)\s+)?[A-Z][\w'’&-]*)*")
_WHO = re.compile(r"^\s*(?:who|whom)\b", re.IGNORECASE)


def titled_name(question: str, span: str, sentence: str) -> str:
    """For a "who" question answered with a name, the name the sentence gives right after
    two or more of the question's words, as news titles people ("ARM Holdings chief
    executive Rene Haas"), when the copied name stands after no such title; else the span.

    >>> s = ("They were joined by ARM Holdings chief executive Rene Haas and Junichi "
    ...      "Miyakawa, chief of SoftBank's telecoms arm.")
    >>> titled_name("Who is the chief executive of ARM Holdings?", "Junichi Miyakawa", s)
    'Rene Haas'
    >>> titled_name("Who runs SoftBank's telecoms arm?", "Junichi Miyakawa", s)
    'Junichi Miyakawa'
    >>> titled_name("Who was at the event?", "Junichi Miyakawa", s)  # no title asked about
    'Junichi Miyakawa'
    >>> titled_name("When did ARM Holdings' chief executive come?", "Junichi Miyakawa", s)
    'Junichi Miyakawa'
    """
    from rag.evidence import question_terms
    from rag.text import word_key

    if not _WHO.search(question):
        return span
    terms = question_terms(question)
    tokens = words(sentence)
    asked = [word_key(w) in terms for w, _, _ in tokens]
    title_ends = {  # the last token of each run of two or more of the question's words
        i
        for i in range(1, len(tokens))
        if asked[i] and asked[i - 1] and (i + 1 == len(tokens) or not asked[i + 1])
    }
    names: dict[str, bool] = {}  # name -> it stands right after a title
    for match in _NAME_RUN.finditer(sentence):
        inside = [i for i, (_, s, e) in enumerate(tokens) if match.start() <= s < match.end()]
        if inside and match.start() > 0 and not any(asked[i] for i in inside):
            names[match.group()] = inside[0] - 1 in title_ends
    titled = [name for name, after_title in names.items() if after_title]
    if span in names and not names[span] and len(titled) == 1:
        return titled[0]
    return span
