"""Copy-only decoding: whatever path a model takes through ``allowed``, it writes a run of
whole source words."""

import random

import pytest

from rag.copying import CopyConstraint, source_tokens

pytestmark = pytest.mark.unit

STOP = 0


def _source(words: list[str], vocab: dict[str, int]):
    """Words split into word-start pieces and, for long words, a continuation piece."""
    pieces = []
    for w in words:
        pieces += [" " + w[:3], w[3:]] if len(w) > 3 else [" " + w]
    ids = [vocab.setdefault(p, len(vocab) + 1) for p in pieces]
    return source_tokens(ids, pieces), pieces


def _walk(constraint, rng, max_len=12):
    out = []
    while len(out) < max_len:
        allowed = constraint.allowed(out)
        assert allowed, "a copied run must always be able to go on or stop"
        token = rng.choice(sorted(allowed))
        if token == STOP:
            return out, True
        out.append(token)
    return out, False


def test_every_walk_is_a_run_of_whole_source_words():
    rng = random.Random(0)
    alphabet = ["the", "bridge", "opened", "in", "1932", "after", "eight", "years", "of", "work"]
    for _ in range(300):
        vocab: dict[str, int] = {}
        sources = [_source(rng.choices(alphabet, k=rng.randint(1, 9)), vocab) for _ in range(2)]
        constraint = CopyConstraint([s for s, _ in sources], stop=STOP)
        run, stopped = _walk(constraint, rng)
        assert run, "the first step never allows stopping"
        found = False
        for src, _pieces in sources:
            n = len(run)
            for i in range(len(src.ids) - n + 1):
                if list(src.ids[i : i + n]) == run and src.word_start[i]:
                    ends_at_boundary = i + n == len(src.ids) or src.boundary[i + n]
                    found = found or (ends_at_boundary or not stopped)
        assert found, (run, sources)


def test_first_step_offers_only_word_starts():
    src = source_tokens([1, 2, 3], [" 10", "60s", " AD"])
    assert CopyConstraint([src], stop=STOP).allowed([]) == {1, 3}


def test_cannot_stop_inside_a_word():
    src = source_tokens([1, 2, 3], [" 10", "60s", " AD"])
    c = CopyConstraint([src], stop=STOP)
    assert c.allowed([1]) == {2}  # "10" must become "1060s"
    assert c.allowed([1, 2]) == {3, STOP}


def test_stop_before_punctuation():
    src = source_tokens([1, 2, 3], [" Paris", ",", " France"])
    assert CopyConstraint([src], stop=STOP).allowed([1]) == {2, STOP}


def test_a_run_that_was_not_copied_allows_nothing():
    src = source_tokens([1, 2], [" a", " b"])
    assert CopyConstraint([src], stop=STOP).allowed([2, 1]) == set()


def test_a_run_found_in_two_sources_may_go_on_in_either():
    a = source_tokens([1, 2], [" New", " York"])
    b = source_tokens([1, 3], [" New", " Delhi"])
    assert CopyConstraint([a, b], stop=STOP).allowed([1]) == {2, 3, STOP}
