"""Evidence: whole sentences of the retrieved articles, scored against the question, and the
choices made from them (pure functions; the pipeline supplies texts and vectors).

Sentences are cut from the article's stored text, not from the chunk, so a sentence that
a chunk boundary splits is still cited whole, with offsets into the article.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rag.records import Passage
from rag.text import split_sentences, tokenize, word_key

MIN_SENTENCE_CHARS = 20
ANSWER_SHAPE_BONUS = 0.2
# Best sentence holds a gold answer for 68.0% of 200 SQuAD dev questions at 1.0, 65.5% at 0.5.
LEXICAL_WEIGHT = 1.0
NAME_WEIGHT = 2.0
_NUMBER = re.compile(r"\d")
_ASKS_NUMBER = re.compile(
    r"^(how (many|much|long|old|far|large|big|tall|often)|what (year|percentage|"
    r"number|amount)|in what year|when)\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"\b[A-Z][\w&'’.-]*")
# Words a question uses to ask, which an answer need not repeat.
_ASKING = frozenset(
    """much many long old far often say says said tell told called name named mean means
    happen happened article articles story news report summarise summarize summary explain
    describe list compare give know kind type per""".split()
)


# "what year", "which date", "how many people": the kind of answer asked for, which the
# answer's sentence need not name ("in 2008").
_ANSWER_TYPE = re.compile(
    r"\b(?:what|which|how\s+many)\s+(?:year|years|date|day|month|time|percentage|number|"
    r"amount|people|city|country|place)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Evidence:
    """A sentence of a retrieved article: ``text == article_text[start:end]``; ``index`` is
    its position among the article's sentences; ``passage`` the retrieved chunk it came
    through (the best-ranked one that overlaps it)."""

    passage: Passage
    start: int
    end: int
    text: str
    score: float = 0.0
    index: int = 0

    @property
    def article_id(self) -> str:
        return self.passage.article_id


@functools.lru_cache(maxsize=128)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """``split_sentences`` of an article, remembered (an article is split once, not per
    question)."""
    return tuple(split_sentences(text))


def _usable(text: str, title: str) -> bool:
    """Headlines and fragments are not evidence."""
    return len(text) >= MIN_SENTENCE_CHARS and text.strip() != title.strip()


def candidates(passages: Sequence[Passage], texts: dict[str, str | None]) -> list[Evidence]:
    """The sentences of the articles that overlap the retrieved chunks, each once, whole.

    ``texts`` maps article ids to their stored text; an article without one (None) gives
    the sentences of its chunks instead.

    >>> from rag.records import Chunk
    >>> text = "Title\\n\\nAnn paid $3bn for the firm. She hired 40 people in May. It grew."
    >>> s, e = text.index("the firm"), text.index(" It grew")
    >>> chunk = Chunk("c", "a", text[s:e], s, e, 1)  # "the firm. She hired 40 people in May."
    >>> p = Passage(chunk, "Title", "src", None, 0.5, 0)
    >>> [e.text for e in candidates([p], {"a": text})]
    ['Ann paid $3bn for the firm.', 'She hired 40 people in May.']
    >>> [e.text for e in candidates([p], {"a": None})]  # no stored text: the chunk's own
    ['She hired 40 people in May.']
    """
    seen: set[tuple[str, int]] = set()
    out: list[Evidence] = []
    for passage in passages:
        chunk = passage.chunk
        text = texts.get(chunk.article_id)
        if text is not None and text[chunk.start : chunk.end] == chunk.text:
            spans = [
                (i, s, e)
                for i, (s, e) in enumerate(sentence_spans(text))
                if s < chunk.end and e > chunk.start
            ]
            source = text
        else:  # the article changed or has no stored text: the chunk's own sentences
            spans = [(-1, chunk.start + s, chunk.start + e) for s, e in split_sentences(chunk.text)]
            source = None
        for index, start, end in spans:
            key = (chunk.article_id, start)
            sentence = (
                source[start:end]
                if source is not None
                else chunk.text[start - chunk.start : end - chunk.start]
            )
            if key in seen or not _usable(sentence, passage.title):
                continue
            seen.add(key)
            out.append(Evidence(passage, start, end, sentence, 0.0, index))
    return out


def expected_answer_shape(question: str) -> re.Pattern | None:
    """A pattern the answer sentence should match, from the question's form.

    >>> expected_answer_shape("How many trees are there?").pattern
    '\\\\d'
    >>> expected_answer_shape("Why did it close?") is None
    True
    """
    return _NUMBER if _ASKS_NUMBER.search(question.strip()) else None


def weighted_overlap(question: str, sentences: list[str]) -> list[float]:
    """Share of the question's words in each sentence, rarer words (across the candidates)
    weighing more.

    >>> weighted_overlap("park trees", ["The park opened.", "The park has trees."])
    [0.42..., 1.0]
    """
    terms = set(tokenize(question))
    if not terms:
        return [0.0] * len(sentences)
    bags = [set(tokenize(s)) for s in sentences]
    n = len(bags)
    weight = {t: math.log(1 + n / (1 + sum(t in b for b in bags))) for t in terms}
    total = sum(weight.values()) or 1.0
    return [sum(weight[t] for t in terms & bag) / total for bag in bags]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(y * y for y in b)) or 1.0
    return dot / (na * nb)


def score(
    question: str,
    sentences: list[Evidence],
    query_vector: Sequence[float],
    sentence_vectors: Sequence[Sequence[float]],
) -> list[Evidence]:
    """The sentences with their scores (cosine similarity + weighted word overlap + a bonus
    for a number when the question asks for one), best first."""
    lexical = weighted_overlap(question, [s.text for s in sentences])
    wants = expected_answer_shape(question)
    scored = []
    for ev, vec, lex in zip(sentences, sentence_vectors, lexical, strict=True):
        bonus = ANSWER_SHAPE_BONUS if wants and wants.search(ev.text) else 0.0
        scored.append(replace(ev, score=cosine(query_vector, vec) + LEXICAL_WEIGHT * lex + bonus))
    scored.sort(key=lambda ev: ev.score, reverse=True)
    return scored


def question_terms(question: str) -> dict[str, float]:
    """The question's content words as stems, with their weights: a name (a capitalised
    word that does not start the question) weighs ``NAME_WEIGHT``, other words 1.

    >>> question_terms("Who did Son and Altman meet on Monday?")
    {'son': 2.0, 'altman': 2.0, 'meet': 1.0, 'monday': 2.0}
    >>> question_terms("How much does it cost?")
    {'cost': 1.0}
    >>> question_terms("In what year did SoftBank bring the iPhone to Japan?")
    {'softbank': 2.0, 'bring': 1.0, 'iphon': 1.0, 'japan': 2.0}
    """
    question = _ANSWER_TYPE.sub(" ", question)
    capitalised = [m.group() for m in _CAPITALISED.finditer(question) if m.start() > 0]
    names = {word_key(w) for phrase in capitalised for w in tokenize(phrase)}
    weights: dict[str, float] = {}
    for token in tokenize(question):
        key = word_key(token)
        if key in _ASKING or token in _ASKING or (len(token) < 2 and not token.isdigit()):
            continue
        weights[key] = max(weights.get(key, 0.0), NAME_WEIGHT if key in names else 1.0)
    return weights


def coverage(terms: dict[str, float], text: str) -> float:
    """The weighted share of the question's terms that occur (as stems) in the text; 1.0
    when the question has none.

    >>> t = question_terms("Who did Son and Altman meet on Monday?")
    >>> coverage(t, "Son and Altman also met the prime minister on Monday.")
    1.0
    >>> round(coverage(question_terms("What was OpenAI's revenue last year?"),
    ...                "SoftBank will pay OpenAI $3 billion a year."), 2)
    0.6
    """
    if not terms:
        return 1.0
    found = {word_key(t) for t in tokenize(text)}
    total = sum(terms.values())
    return sum(w for t, w in terms.items() if t in found) / total


def content_coverage(terms: dict[str, float], text: str) -> float:
    """``coverage`` of the question's words that are not names: what it asks about
    ("revenue", "chief financial officer") rather than whom.

    >>> t = question_terms("Who is Lindqvist Air's chief financial officer?")
    >>> content_coverage(t, "Erik Thorsen, Lindqvist's chief executive, said sorry.")
    0.3333333333333333
    """
    return coverage({t: w for t, w in terms.items() if w <= 1.0}, text)


def in_article_order(sentences: Sequence[Evidence]) -> list[Evidence]:
    """Sentences grouped by article (the article of the best one first) and in the order
    they stand in their article.

    >>> from rag.records import Chunk
    >>> def ev(art, start, score):
    ...     p = Passage(Chunk("c", art, "", 0, 0, 0), "", "", None, 0.0, 0)
    ...     return Evidence(p, start, start + 1, "x", score)
    >>> [(e.article_id, e.start) for e in in_article_order([ev("b", 9, .9), ev("a", 5, .8),
    ...                                                     ev("b", 2, .7)])]
    [('b', 2), ('b', 9), ('a', 5)]
    """
    first: dict[str, int] = {}
    for i, ev in enumerate(sentences):
        first.setdefault(ev.article_id, i)
    return sorted(sentences, key=lambda ev: (first[ev.article_id], ev.start))


def choose_sentences(
    ranked: Sequence[Evidence], margin: float, limit: int, same_article: bool = True
) -> list[Evidence]:
    """The best sentence and those scoring within ``margin`` of it (at most ``limit``), in
    article order. With ``same_article``, only sentences of the best sentence's article.

    >>> from rag.records import Chunk
    >>> def ev(start, score, art="a"):
    ...     p = Passage(Chunk("c", art, "", 0, 0, 0), "", "", None, 0.0, 0)
    ...     return Evidence(p, start, start + 1, "x", score)
    >>> [e.start for e in choose_sentences([ev(50, 1.0), ev(10, 0.9), ev(30, 0.5)], 0.2, 4)]
    [10, 50]
    >>> [e.start for e in choose_sentences([ev(50, 1.0), ev(10, 0.95, "b")], 0.2, 4)]
    [50]
    """
    if not ranked:
        return []
    best = ranked[0]
    chosen = [
        ev
        for ev in ranked
        if ev.score >= best.score - margin
        and (not same_article or ev.article_id == best.article_id)
    ][:limit]
    return in_article_order(chosen)


def lead_spans(text: str, title: str, count: int) -> list[tuple[int, int]]:
    """The first ``count`` sentences of an article's body (its headline and fragments,
    such as a dateline or a bare name, skipped).

    >>> t = "Big news\\n\\nLONDON\\n\\nAnn paid $3bn for the firm. She hired 40 people. Done."
    >>> [t[s:e] for s, e in lead_spans(t, "Big news", 2)]
    ['Ann paid $3bn for the firm.', 'She hired 40 people.']
    """
    out = []
    for s, e in sentence_spans(text):
        if _usable(text[s:e], title):
            out.append((s, e))
            if len(out) == count:
                break
    return out
