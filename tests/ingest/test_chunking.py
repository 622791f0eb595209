import random

import pytest

from ingest.chunking import chunk_spans, split_sentences

pytestmark = pytest.mark.unit

WORDS = "the a SoftBank OpenAI pays $3 billion (£2.4bn) Mr. U.S. 2.5 per cent year Tokyo".split()


def random_text(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 60)):
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 25)))
        out.append(sentence + rng.choice([".", "!", "?", "", "."]))
        out.append(rng.choice([" ", " ", "\n", "\n\n", "  "]))
    return "".join(out)


@pytest.mark.parametrize("seed", range(60))
def test_chunks_cover_the_text_with_exact_offsets(seed):
    rng = random.Random(seed)
    text = random_text(rng)
    size = rng.randint(80, 600)
    overlap = rng.randint(0, size // 3)
    spans = chunk_spans(text, size, overlap)
    # Every non-space character belongs to some chunk.
    covered = [False] * len(text)
    for s, e in spans:
        assert 0 <= s < e <= len(text)
        assert text[s:e].strip() == text[s:e]  # no chunk starts or ends with whitespace
        assert e - s <= size
        for i in range(s, e):
            covered[i] = True
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace())
    starts = [s for s, _ in spans]
    assert starts == sorted(set(starts))  # strictly increasing


@pytest.mark.parametrize("seed", range(30))
def test_sentences_are_ordered_non_overlapping_and_trimmed(seed):
    text = random_text(random.Random(seed))
    spans = split_sentences(text)
    for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
        assert e1 <= s2
    for s, e in spans:
        assert text[s:e] and text[s:e] == text[s:e].strip()
    joined = "".join(text[s:e] for s, e in spans)
    assert joined.replace(" ", "") == "".join(text.split())


def test_neighbouring_chunks_overlap_by_whole_sentences():
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    spans = chunk_spans(text, 200, 60)
    assert len(spans) > 3
    for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
        assert s2 < e1  # overlap
        assert text[s2 - 2 : s2] in (". ", "")  # the next chunk starts at a sentence


def test_sentence_splitter_keeps_abbreviations_and_decimals():
    text = "Mr. Son met U.S. officials. Prices rose 2.5 per cent. Done"
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Mr. Son met U.S. officials.",
        "Prices rose 2.5 per cent.",
        "Done",
    ]


def test_a_long_sentence_is_cut_at_whitespace():
    text = "word " * 300
    spans = chunk_spans(text.strip(), 100, 20)
    assert all(e - s <= 100 for s, e in spans)
    assert all(text[e : e + 1] in (" ", "") for _, e in spans)
