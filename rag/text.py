"""Text utilities shared by every layer: the one tokenizer, sentence splitter and F1.

Pure functions; offsets always point into the text they were computed from.
"""

from __future__ import annotations

import functools
import re
import string
import threading
from collections import Counter
from collections.abc import Sequence

_WORD = re.compile(r"\w+(?:[.,']\w+)*|[$£€%]", re.UNICODE)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)

_TOKEN = re.compile(r"\w+(?:[.,]\d+)*", re.UNICODE)
STOPWORDS = frozenset(
    "a an and are as at be been but by did do does for from had has have how in is it its "
    "of on or that the their there these this to was were what when where which who whom "
    "whose why will with would can could should may might than then they them he she his her "
    "i you we our your not no yes so if into about after before over under also".split()
)


def plural(n: int, word: str, many: str | None = None) -> str:
    """A count and its noun, singular for one.

    >>> plural(1, "article"), plural(5, "chunk"), plural(0, "article"), plural(2, "is", "are")
    ('1 article', '5 chunks', '0 articles', '2 are')
    """
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stopwords.

    >>> tokenize("How much does SoftBank pay OpenAI?")
    ['much', 'softbank', 'pay', 'openai']
    """
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


def words(text: str) -> list[tuple[str, int, int]]:
    """Normalised word tokens with their offsets.

    >>> [w for w, _, _ in words("SoftBank pays $3 billion (£2.4bn).")]
    ['softbank', 'pays', '$', '3', 'billion', '£', '2.4bn']
    """
    return [(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(text)]


def token_f1(pred: Sequence[str], gold: Sequence[str]) -> float:
    """F1 of two token lists by their shared tokens (with multiplicity); 0 when either is empty.

    >>> token_f1(["3", "billion", "dollars"], ["3", "billion"])
    0.8
    """
    if not pred or not gold:
        return 0.0
    same = sum((Counter(pred) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def normalize_answer(text: str) -> str:
    """The official SQuAD v2 normalisation: lower case, no punctuation, no a/an/the, single spaces.

    >>> normalize_answer("The  $3 Billion, a year!")
    '3 billion year'
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def f1_score(prediction: str, gold: str) -> float:
    """Token-overlap F1 of the normalised strings (SQuAD); two empty strings score 1.

    >>> f1_score("3 billion dollars", "$3 billion")   # 2 shared of 3 predicted, 2 gold
    0.8
    >>> f1_score("", "")
    1.0
    """
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    return token_f1(pred, ref)


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
            add_trimmed(text, spans, cursor, mark.start())
        elif _is_sentence_end(text, mark, cursor, end):
            add_trimmed(text, spans, cursor, mark.end())
        else:
            continue
        cursor = mark.end()
    add_trimmed(text, spans, cursor, end)
    return spans


def add_trimmed(text: str, spans: list[tuple[int, int]], s: int, e: int) -> None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e > s:
        spans.append((s, e))


_stem_lock = threading.Lock()


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball (Porter 2) English stem of a lower-cased word (the claim check's and the
    evidence's one stemmer).

    >>> [stem(w) for w in ["paying", "pays", "companies", "conquered"]]
    ['pay', 'pay', 'compani', 'conquer']
    """
    with _stem_lock:  # a Snowball stemmer keeps state between calls
        return _stemmer().stemWord(word)


@functools.lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=65536)
def word_key(word: str) -> str:
    """The stem of the word's lemma (simplemma): the key under which forms of one word
    match, irregular ones too ("met" and "meeting", "announced" and "announcement").

    >>> [word_key(w) for w in ("met", "meeting", "announced", "announcement", "Companies")]
    ['meet', 'meet', 'announc', 'announc', 'compani']
    """
    import simplemma

    return stem(simplemma.lemmatize(word.lower(), lang="en").lower())


def word_keys(text: str) -> set[str]:
    """The keys (``word_key``) of a text's content words (``tokenize``'s words).

    >>> sorted(word_keys("Son and Altman met the prime minister."))
    ['altman', 'meet', 'minist', 'prime', 'son']
    """
    return {word_key(t) for t in tokenize(text)}
