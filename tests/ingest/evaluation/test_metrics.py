"""Metrics against hand-worked cases."""

import pytest

from ingest.evaluation import metrics as m

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Eiffel Tower!", "eiffel tower"),
        ("  a  cat,  an apple  ", "cat apple"),
        ("$3 billion (£2.4bn)", "3 billion £24bn"),  # £ is not ASCII punctuation
        ("Theatre then", "theatre then"),  # articles only as whole words
        ("", ""),
    ],
)
def test_normalisation_is_squads(text, expected):
    assert m.normalize_answer(text) == expected


def test_exact_match_ignores_case_punctuation_and_articles():
    assert m.exact_match("The Normans.", "normans") == 1.0
    assert m.exact_match("Normans of France", "Normans") == 0.0


def test_f1_partial_overlap_worked_by_hand():
    # pred: [10th, and, 11th, centuries]; gold: [10th, 11th, centuries]: 3 shared.
    # precision 3/4, recall 3/3 -> F1 = 2 * .75 * 1 / 1.75 = 6/7
    assert m.f1_score("10th and 11th centuries", "the 10th 11th centuries") == pytest.approx(6 / 7)
    assert m.f1_score("Rollo", "Normandy") == 0.0
    assert m.f1_score("", "Rollo") == 0.0
    assert m.f1_score("", "") == 1.0


def test_f1_counts_repeated_tokens_once_each():
    # pred [new, new, york]; gold [new, york]: common = 2 -> P 2/3, R 1 -> F1 0.8
    assert m.f1_score("new new york", "New York") == pytest.approx(0.8)


def test_scores_take_the_best_gold_answer():
    golds = ["Denmark, Iceland and Norway", "Norway"]
    assert m.best_over_golds(m.exact_match, "norway", golds) == 1.0
    # against gold 0: 1 shared of 1 predicted and 4 gold -> 0.4; against gold 1: 1.0
    assert m.best_over_golds(m.f1_score, "Norway", golds) == 1.0
    assert m.best_over_golds(m.f1_score, "Iceland", golds) == pytest.approx(0.4)


def test_no_gold_means_no_answer_is_right():
    assert m.best_over_golds(m.exact_match, "", []) == 1.0
    assert m.best_over_golds(m.f1_score, "Paris", []) == 0.0
    assert m.best_over_golds(m.f1_score, "Paris", ["", "  "]) == 0.0


def test_prediction_drops_citation_marks_and_abstentions():
    assert m.prediction_text("$3 billion a year [1]", False) == "$3 billion a year"
    assert m.prediction_text("Tokyo [1, 2]", False) == "Tokyo"
    assert m.prediction_text("The articles don't say.", True) == ""
    assert m.exact_match(m.prediction_text("1,000 people [1]", False), "1,000 people") == 1.0


def test_contains_gold_matches_whole_normalised_words():
    assert m.contains_gold("It will hire 1,000 people.", ["1,000 people"])
    assert not m.contains_gold("It will hire 31,000 people.", ["1,000"])
    assert not m.contains_gold("anything", [])


@pytest.mark.parametrize(
    ("expected", "actual", "same"),
    [
        ("corpus/a.txt", "/repo/corpus/a.txt", True),
        ("/repo/corpus/a.txt", "corpus/a.txt", True),
        ("./corpus/a.txt", "/repo/corpus/a.txt", True),
        ("corpus/a.txt", "/repo/other/a.txt", False),
        ("corpus/a.txt", "/repo/corpus/ba.txt", False),
        ("squad:Normans", "squad:Normans", True),
        ("squad:Normans", "squad:Norman", False),
        ("squad:Normans", "/data/squad:Normans", False),
        ("https://x.org/a", "https://x.org/a", True),
        ("https://x.org/a", "/a", False),
        ("", "/a", False),
    ],
)
def test_source_matching(expected, actual, same):
    assert m.source_matches(expected, actual) is same


def test_ranks_hits_and_mrr_worked_by_hand():
    assert m.first_rank(["/b.txt", "/a.txt", "/a.txt"], "a.txt") == 2
    assert m.first_rank([], "a.txt") is None
    ranks = [1, 2, None, 4, 7]
    assert m.hit_at_k(ranks, 1) == pytest.approx(1 / 5)
    assert m.hit_at_k(ranks, 5) == pytest.approx(3 / 5)
    assert m.hit_at_k(ranks, 10) == pytest.approx(4 / 5)
    # (1 + 1/2 + 0 + 1/4 + 1/7) / 5
    assert m.mean_reciprocal_rank(ranks) == pytest.approx((1 + 0.5 + 0.25 + 1 / 7) / 5)
    assert m.hit_at_k([], 5) is None and m.mean_reciprocal_rank([]) is None


def test_abstention_precision_recall_worked_by_hand():
    # (abstained, answerable): 3 abstentions, 2 of them on the 3 unanswerable questions.
    pairs = [(True, False), (True, False), (False, False), (True, True), (False, True)]
    scores = m.abstention_scores(pairs)
    assert scores["abstain_precision"] == pytest.approx(2 / 3)
    assert scores["abstain_recall"] == pytest.approx(2 / 3)
    assert scores["false_abstain_rate"] == pytest.approx(1 / 2)


def test_abstention_scores_without_denominators_are_none():
    never = m.abstention_scores([(False, False), (False, True)])
    assert never == {"abstain_precision": None, "abstain_recall": 0.0, "false_abstain_rate": 0.0}
    only_answerable = m.abstention_scores([(True, True)])
    assert only_answerable["abstain_precision"] == 0.0
    assert only_answerable["abstain_recall"] is None
    assert m.abstention_scores([]) == dict.fromkeys(
        ("abstain_precision", "abstain_recall", "false_abstain_rate")
    )


def test_percentiles_interpolate_linearly():
    values = [0.5, 0.1, 0.3, 0.2, 0.4]
    assert m.percentile(values, 50) == pytest.approx(0.3)
    assert m.percentile(values, 95) == pytest.approx(0.48)  # 0.4 + 0.8 * (0.5 - 0.4)
    assert m.percentile(values, 0) == pytest.approx(0.1)
    assert m.percentile(values, 100) == pytest.approx(0.5)
    assert m.percentile([2.0], 95) == 2.0
    assert m.percentile([], 50) is None


def _row(**kw):
    base = {
        "abstained": False,
        "answerable": True,
        "gold_answers": ["x"],
        "exact_match": 0.0,
        "f1": 0.0,
        "expected_source": "a.txt",
        "retrieved_rank": 1,
        "citation_supported": False,
        "latency_s": 1.0,
        "prompt_tokens": 10,
        "completion_tokens": 2,
    }
    return {**base, **kw}


def test_summary_of_hand_made_rows():
    rows = [
        _row(exact_match=1.0, f1=1.0, citation_supported=True, latency_s=0.2),
        _row(f1=0.5, retrieved_rank=3, latency_s=0.4),
        _row(abstained=True, citation_supported=None, retrieved_rank=None, latency_s=0.6),
        _row(
            answerable=False,
            gold_answers=[],
            abstained=True,
            exact_match=1.0,
            f1=1.0,
            citation_supported=None,
            latency_s=0.8,
        ),
        _row(answerable=False, gold_answers=[], citation_supported=None, latency_s=1.0),
        _row(
            answerable=None,
            gold_answers=[],
            exact_match=None,
            f1=None,
            expected_source=None,
            citation_supported=None,
            latency_s=1.2,
        ),
        {"id": "bad", "question": "?", "error": "question: empty"},
    ]
    s = m.summarize(rows)
    assert (s["n"], s["n_errors"], s["n_answerable"], s["n_unanswerable"]) == (7, 1, 3, 2)
    assert s["em"] == pytest.approx(1 / 3, abs=1e-4)
    assert s["f1"] == pytest.approx(0.5)
    assert s["f1_all"] == pytest.approx(2.5 / 5)
    # sources known for 5 rows: ranks 1, 3, None, 1, 1
    assert s["hit_at_1"] == pytest.approx(3 / 5)
    assert s["hit_at_5"] == pytest.approx(4 / 5)
    assert s["mrr"] == pytest.approx((1 + 1 / 3 + 0 + 1 + 1) / 5, abs=1e-4)
    assert s["abstain_precision"] == 0.5 and s["abstain_recall"] == 0.5
    assert s["false_abstain_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert s["citation_support"] == 0.5  # 2 answered answerable rows, one supported
    assert s["latency_p50_s"] == pytest.approx(0.7)
    assert s["latency_p95_s"] == pytest.approx(1.15)


def test_summary_of_nothing_has_no_made_up_numbers():
    s = m.summarize([])
    assert s["n"] == 0
    assert s["em"] is None and s["hit_at_5"] is None and s["latency_p50_s"] is None
