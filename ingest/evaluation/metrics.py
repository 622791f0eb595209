"""Scoring: SQuAD-style EM/F1, retrieval hit@k and MRR, abstention, citations, percentiles.

Pure functions over plain values; ``summarize`` turns result rows into ``summary.json``.
Ratios with nothing to divide by are ``None`` (JSON ``null``), never a made-up 0 or 1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePath, PurePosixPath

from rag.text import f1_score, normalize_answer  # noqa: F401 (the SQuAD metrics live in core)

_CITATION_MARK = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


# ----- answers ------------------------------------------------------------------------
def prediction_text(answer_text: str, abstained: bool) -> str:
    """What is scored: the answer without citation marks; an abstention predicts nothing.

    >>> prediction_text("$3 billion a year [1]", False)
    '$3 billion a year'
    >>> prediction_text("The articles don't say.", True)
    ''
    """
    if abstained:
        return ""
    return _CITATION_MARK.sub("", answer_text).strip()


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when the normalised strings are equal.

    >>> exact_match("the Tokyo.", "Tokyo")
    1.0
    >>> exact_match("in Tokyo", "Tokyo")
    0.0
    """
    return float(normalize_answer(prediction) == normalize_answer(gold))


def best_over_golds(metric, prediction: str, golds: Sequence[str]) -> float:
    """The best score of ``prediction`` against any gold answer; no golds means "no answer".

    >>> best_over_golds(f1_score, "Tokyo, Japan", ["Osaka", "Tokyo"])
    0.6666666666666666
    >>> best_over_golds(exact_match, "", [])
    1.0
    """
    golds = [g for g in golds if normalize_answer(g)] or [""]
    return max(metric(prediction, gold) for gold in golds)


def contains_gold(text: str, golds: Sequence[str]) -> bool:
    """Whether a normalised gold answer occurs in the normalised text (as whole words).

    >>> contains_gold("SoftBank will pay OpenAI $3 billion a year.", ["3 billion"])
    True
    >>> contains_gold("It employs 31,000 people.", ["1,000"])
    False
    """
    haystack = f" {normalize_answer(text)} "
    return any(f" {g} " in haystack for g in (normalize_answer(x) for x in golds) if g)


# ----- sources and retrieval ----------------------------------------------------------
def _is_pathlike(source: str) -> bool:
    return ":" not in source.split("/")[0] or PurePath(source).is_absolute()


def source_matches(expected: str, actual: str) -> bool:
    """Whether a retrieved article's source is the expected one.

    Ids such as ``squad:Normans`` and URLs compare exactly; file paths match when one is
    a suffix of the other by whole path components (stored sources are usually absolute).

    >>> source_matches("corpus/a.txt", "/home/me/repo/corpus/a.txt")
    True
    >>> source_matches("corpus/a.txt", "/home/me/other/ba.txt")
    False
    >>> source_matches("squad:Normans", "squad:Normans"), source_matches("squad:N", "squad:No")
    (True, False)
    """
    expected, actual = expected.strip(), actual.strip()
    if not expected or not actual:
        return False
    if expected == actual:
        return True
    if not (_is_pathlike(expected) and _is_pathlike(actual)):
        return False
    if Path(expected).resolve() == Path(actual).resolve():
        return True
    a = PurePosixPath(expected.replace("\\", "/")).parts
    b = PurePosixPath(actual.replace("\\", "/")).parts
    a = tuple(p for p in a if p not in (".", "..", "/"))
    b = tuple(p for p in b if p not in (".", "..", "/"))
    if not a or not b:
        return False
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    return longer[-len(shorter) :] == shorter


def first_rank(sources: Sequence[str], expected: str) -> int | None:
    """1-based position of the first retrieved source matching ``expected``, or None.

    >>> first_rank(["/x/b.txt", "/x/a.txt", "/x/a.txt"], "a.txt")
    2
    >>> first_rank(["/x/b.txt"], "a.txt") is None
    True
    """
    for position, source in enumerate(sources, 1):
        if source_matches(expected, source):
            return position
    return None


def hit_at_k(ranks: Iterable[int | None], k: int) -> float | None:
    """Share of questions whose expected source is among the first ``k`` (None = missed).

    >>> hit_at_k([1, 3, None, 6], 5)
    0.5
    >>> hit_at_k([], 5) is None
    True
    """
    ranks = list(ranks)
    if not ranks:
        return None
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mean_reciprocal_rank(ranks: Iterable[int | None]) -> float | None:
    """Mean of 1/rank, a miss counting 0.

    >>> mean_reciprocal_rank([1, 2, None, 4])
    0.4375
    """
    ranks = list(ranks)
    if not ranks:
        return None
    return sum(1.0 / r for r in ranks if r) / len(ranks)


# ----- abstention ---------------------------------------------------------------------
def ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or None when there is nothing to divide by.

    >>> ratio(1, 4), ratio(0, 0)
    (0.25, None)
    """
    return numerator / denominator if denominator else None


def abstention_scores(pairs: Iterable[tuple[bool, bool]]) -> dict[str, float | None]:
    """Precision/recall of abstaining on unanswerable questions, and false abstentions.

    ``pairs`` are ``(abstained, answerable)``. precision: of the abstentions, the share
    that were on unanswerable questions; recall: of the unanswerable, the share abstained
    on; false_abstain_rate: of the answerable, the share abstained on.

    >>> abstention_scores([(True, False), (True, True), (False, False), (False, True)])
    {'abstain_precision': 0.5, 'abstain_recall': 0.5, 'false_abstain_rate': 0.5}
    >>> abstention_scores([(False, True)])
    {'abstain_precision': None, 'abstain_recall': None, 'false_abstain_rate': 0.0}
    """
    pairs = list(pairs)
    abstained = sum(1 for a, _ in pairs if a)
    unanswerable = sum(1 for _, ok in pairs if not ok)
    answerable = len(pairs) - unanswerable
    correct = sum(1 for a, ok in pairs if a and not ok)
    wrong = sum(1 for a, ok in pairs if a and ok)
    return {
        "abstain_precision": ratio(correct, abstained),
        "abstain_recall": ratio(correct, unanswerable),
        "false_abstain_rate": ratio(wrong, answerable),
    }


# ----- latency ------------------------------------------------------------------------
def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between order statistics.

    >>> percentile([4, 1, 3, 2], 50)
    2.5
    >>> percentile([1, 2, 3, 4, 5], 95)
    4.8
    >>> percentile([], 50) is None
    True
    """
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 10)


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean, or None for no values.

    >>> mean([1, 0, 1, 1]), mean([])
    (0.75, None)
    """
    values = list(values)
    return sum(values) / len(values) if values else None


# ----- summary ------------------------------------------------------------------------
def summarize(rows: Sequence[dict]) -> dict:
    """The metrics of ``summary.json`` from scored result rows (see ``runner.score_row``).

    Rows with an ``error`` are counted in ``n_errors`` and left out of every metric.
    """
    ok = [r for r in rows if not r.get("error")]
    known = [r for r in ok if r.get("answerable") is not None]
    answerable = [r for r in known if r["answerable"]]
    scored = [r for r in answerable if r.get("gold_answers")]
    with_source = [r for r in ok if r.get("expected_source")]
    cited = [r for r in scored if not r["abstained"]]
    latencies = [r["latency_s"] for r in ok if r.get("latency_s") is not None]
    summary: dict = {
        "n": len(rows),
        "n_errors": len(rows) - len(ok),
        "n_answerable": len(answerable),
        "n_unanswerable": len(known) - len(answerable),
        "n_scored": len(scored),
        "n_with_source": len(with_source),
        "em": mean(r["exact_match"] for r in scored),
        "f1": mean(r["f1"] for r in scored),
        # The official SQuAD v2 "all" score: unanswerable count 1 when abstained on.
        "em_all": mean(r["exact_match"] for r in known if r.get("exact_match") is not None),
        "f1_all": mean(r["f1"] for r in known if r.get("f1") is not None),
    }
    ranks = [r.get("retrieved_rank") for r in with_source]
    summary.update(
        hit_at_1=hit_at_k(ranks, 1),
        hit_at_5=hit_at_k(ranks, 5),
        hit_at_10=hit_at_k(ranks, 10),
        mrr=mean_reciprocal_rank(ranks),
    )
    summary.update(abstention_scores((r["abstained"], r["answerable"]) for r in known))
    summary["abstain_rate"] = ratio(sum(1 for r in ok if r["abstained"]), len(ok))
    summary["citation_support"] = mean(float(bool(r.get("citation_supported"))) for r in cited)
    summary["latency_p50_s"] = percentile(latencies, 50)
    summary["latency_p95_s"] = percentile(latencies, 95)
    summary["latency_mean_s"] = mean(latencies)
    summary["prompt_tokens_mean"] = mean(r.get("prompt_tokens", 0) for r in ok)
    summary["completion_tokens_mean"] = mean(r.get("completion_tokens", 0) for r in ok)
    summary["by_shape"] = by_shape(ok)
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in summary.items()}


def by_shape(rows: Sequence[dict]) -> dict[str, dict]:
    """Per answer shape (``shape`` of each row): how many, the F1 of the answerable ones
    with gold answers (a factoid's short answer, the whole text otherwise) and the share
    abstained on.

    >>> rows = [{"shape": "factoid", "answerable": True, "gold_answers": ["x"], "f1": 1.0,
    ...          "abstained": False}, {"shape": "summary", "answerable": True,
    ...          "gold_answers": [], "f1": None, "abstained": False}]
    >>> by_shape(rows)["factoid"]
    {'n': 1, 'f1': 1.0, 'abstain_rate': 0.0}
    >>> by_shape(rows)["summary"]
    {'n': 1, 'f1': None, 'abstain_rate': 0.0}
    """
    out: dict[str, dict] = {}
    for shape in sorted({r["shape"] for r in rows if r.get("shape")}):
        part = [r for r in rows if r.get("shape") == shape]
        scored = [r for r in part if r.get("answerable") and r.get("gold_answers")]
        f1 = mean(r["f1"] for r in scored if r.get("f1") is not None)
        abstained = ratio(sum(1 for r in part if r["abstained"]), len(part))
        out[shape] = {
            "n": len(part),
            "f1": None if f1 is None else round(f1, 4),
            "abstain_rate": None if abstained is None else round(abstained, 4),
        }
    return out
