"""Chunking and sentence splitting: properties over generated texts, plus worked cases."""

import random
import time

import pytest

from ingest.chunking import chunk_text, split_sentences
from ingest.loaders import load_path
from tests.conftest import SEED

pytestmark = pytest.mark.unit

WORDS = (
    "the a SoftBank OpenAI pays $3 billion (£2.4bn) Mr. U.S. 2.5 per cent year Tokyo "
    "“quoted” said, e.g. No. 10 well-known supercalifragilisticexpialidocious"
).split()


def random_text(rng: random.Random) -> str:
    """Sentences of random words and lengths, joined by spaces, newlines or blank lines;
    now and then a very long sentence or a run of letters without any space."""
    out = []
    for _ in range(rng.randint(0, 60)):
        n = rng.choice([1, 3, 8, 20, 40, 200])
        words = [rng.choice(WORDS) for _ in range(n)]
        if rng.random() < 0.05:
            words.append("x" * rng.randint(50, 900))
        out.append(" ".join(words) + rng.choice([".", "!", "?", "", ".”", "..."]))
        out.append(rng.choice([" ", " ", "  ", "\n", "\n\n", "\n \n\t"]))
    return rng.choice(["", " ", "\n"]) + "".join(out)


@pytest.mark.parametrize("seed", range(200))
def test_chunk_properties(seed):
    rng = random.Random(seed)
    text = random_text(rng)
    size = rng.choice([100, 160, 300, 700, 1500])
    overlap = rng.choice([0, 1, size // 10, size // 5, size // 2])
    spans = chunk_text(text, size, overlap)
    if not text.strip():
        assert spans == []
        return
    # offsets are exact, chunks are trimmed and never longer than asked
    for s, e in spans:
        assert 0 <= s < e <= len(text)
        chunk = text[s:e]
        assert chunk.strip() == chunk and e - s <= size
    # starts and ends strictly increase
    assert all(a[0] < b[0] and a[1] < b[1] for a, b in zip(spans, spans[1:], strict=False))
    # together the chunks cover the whole text: only whitespace lies outside them
    assert text[: spans[0][0]].strip() == "" and text[spans[-1][1] :].strip() == ""
    for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
        assert s2 <= e1 or text[e1:s2].strip() == ""
    # neighbours never share more than the chunk size allows
    for (s1, e1), (s2, _) in zip(spans, spans[1:], strict=False):
        assert e1 - s2 < e1 - s1


@pytest.mark.parametrize("seed", range(60))
def test_sentence_properties(seed):
    rng = random.Random(seed)
    text = random_text(rng)
    lo = rng.randint(0, len(text))
    hi = rng.randint(lo, len(text))
    for start, end in [(0, None), (lo, hi)]:
        spans = split_sentences(text, start, end)
        stop = len(text) if end is None else end
        for s, e in spans:
            assert start <= s < e <= stop and text[s:e] == text[s:e].strip()
            assert "\n" not in text[s:e]
        assert all(e1 <= s2 for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False))
        joined = "".join(text[s:e] for s, e in spans)
        assert "".join(joined.split()) == "".join(text[start:stop].split())


def test_overlap_is_about_the_asked_size_and_starts_at_sentences_on_news_text():
    [article] = load_path(SEED)
    text = article.text
    spans = chunk_text(text, 700, 120)
    sentence_starts = {s for s, _ in split_sentences(text)}
    assert len(spans) >= 4
    for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
        assert 40 <= e1 - s2 <= 180
        assert s2 in sentence_starts or text[s2 - 1] == " "  # a sentence, else a word
    assert sum(s in sentence_starts for s, _ in spans) >= len(spans) // 2


def test_neighbouring_chunks_overlap_by_whole_sentences():
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    spans = chunk_text(text, 200, 60)
    assert len(spans) > 3
    for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
        assert 0 < e1 - s2 <= 60 and text[s2:].startswith("Sentence")


def test_no_overlap_when_asked_for_none():
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    spans = chunk_text(text, 200, 0)
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False))


def test_chunks_prefer_paragraph_breaks():
    paragraphs = [" ".join(f"P{p} sentence {i}." for i in range(8)) for p in range(6)]
    text = "\n\n".join(paragraphs)  # each paragraph is 120-ish characters
    spans = chunk_text(text, 300, 0)
    for _, e in spans[:-1]:
        assert text[e : e + 2] == "\n\n"


def test_a_long_sentence_is_cut_at_clause_breaks_then_whitespace_then_hard():
    clauses = ", ".join(f"clause number {i} goes on" for i in range(30)) + "."
    spans = chunk_text(clauses, 100, 0)
    assert all(clauses[e - 1] == "," for _, e in spans[:-1])
    words = "word " * 300
    spans = chunk_text(words.strip(), 100, 20)
    assert all(e - s <= 100 and words[e : e + 1] in (" ", "") for s, e in spans)
    blob = "x" * 1050
    assert chunk_text(blob, 100, 10)[:3] == [
        (0, 100),
        (100, 200),
        (200, 300),
    ]  # no word to overlap at


def test_sentence_splitter_cases():
    text = (
        "Mr. Son met U.S. officials in Washington, D.C. on Monday. Prices rose 2.5 per cent. "
        '"Is it big?" he asked. “Very,” she said! J. K. Rowling wrote it, e.g. in 1997. '
        "See No. 10 or say no. Done...\nA headline\n\nEnd"
    )
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Mr. Son met U.S. officials in Washington, D.C. on Monday.",
        "Prices rose 2.5 per cent.",
        '"Is it big?" he asked.',
        "“Very,” she said!",
        "J. K. Rowling wrote it, e.g. in 1997.",
        "See No. 10 or say no.",
        "Done...",
        "A headline",
        "End",
    ]


def test_sentence_splitter_on_the_seed_quote():
    text = "“If more is better, we should do a lot.” ““More brain is definitely better."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "“If more is better, we should do a lot.”",
        "““More brain is definitely better.",
    ]


def test_splitting_and_chunking_are_linear_in_time():
    [article] = load_path(SEED)
    big = "\n\n".join([article.text] * 400)  # about 1 MB
    started = time.perf_counter()
    n_sentences = len(split_sentences(big))
    n_chunks = len(chunk_text(big, 700, 120))
    assert n_sentences > 8000 and n_chunks > 1000
    assert time.perf_counter() - started < 3.0


def test_bad_arguments():
    with pytest.raises(ValueError):
        chunk_text("text", 0, 0)
    with pytest.raises(ValueError):
        chunk_text("text", 10, -1)
