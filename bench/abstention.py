"""Which measure tells answerable questions from unanswerable ones: each signal's AUC, and
what the abstention rule in ``rag.pipeline`` does with it, on three question sets.

    python bench/abstention.py [--squad ../shared/datasets/squad-v2-dev-a.json --sample 150]
        [--features features.jsonl] [--reuse features.jsonl] [--write]

Question sets: the news dev set (``bench/devset``, tuning and held-out parts apart), the
demo article's questions (``bench/devset/demo_questions.jsonl`` and
``corpus/questions.jsonl``) and, with ``--squad``, a seeded sample of a SQuAD v2.0 file
(N answerable + N unanswerable). For each question the script runs the pipeline's own
steps (retrieve, gather, and the copy-only generation for the copy probability) and keeps
these signals:

- ``relevance``: the best passage's cosine similarity (the old cut-off, 0.25);
- ``coverage``: the weighted share of the question's words (names count double) in the
  best sentence, the sentence before it and the article's title (the new signal);
  ``topic``: the same for the words that are not names (what the question asks about);
- ``coverage_sentence``: the same in the best sentence alone; ``coverage_article``: in the
  whole best article; ``names``: the share of the question's names in the best article;
- ``sentence_score``: the best sentence's score; ``copy_prob``: the model's probability of
  starting its answer with words of the best sentence.

Prints, per question set, the AUC of each signal (1.0: every answerable question scores
above every unanswerable one) and, for the old rule (relevance < 0.25 or copy probability
< 0.05 abstains) and the new one (``Assistant.enough_evidence`` with the default
settings, then for a factoid the topic coverage and the copy probability), the share of
unanswerable questions abstained on (recall) and of answerable ones (false abstention).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIGNALS = (
    "relevance",
    "coverage",
    "topic",
    "coverage_sentence",
    "coverage_article",
    "names",
    "sentence_score",
    "copy_prob",
)


def auc(positives: list[float], negatives: list[float]) -> float | None:
    """Probability that a random positive scores above a random negative (ties count half).

    >>> auc([0.9, 0.8], [0.1, 0.85])
    0.75
    """
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def features(assistant, question: str) -> dict:
    from rag.evidence import coverage, question_terms
    from rag.protocols import GenerationStats

    shape = assistant.shape(question)
    passages = assistant.retrieve(question)
    support = assistant.gather(question, passages)
    row = {
        "shape": shape,
        "relevance": support.relevance,
        "coverage": support.coverage,
        "topic": support.topic,
    }
    best = support.best
    terms = question_terms(question)
    if best is None:
        row.update(coverage_sentence=0.0, coverage_article=0.0, names=0.0, sentence_score=0.0)
        row["copy_prob"] = 0.0 if shape == "factoid" else None
        return row
    article = support.texts.get(best.article_id) or best.text
    names = {t: w for t, w in terms.items() if w > 1}
    from rag.pipeline import _previous_sentence
    from rag.text import word_keys

    row["terms"] = terms
    row["stems"] = {
        "sentence": sorted(word_keys(best.text)),
        "previous": sorted(word_keys(_previous_sentence(best, support.texts))),
        "title": sorted(word_keys(best.passage.title)),
        "top3": sorted(set().union(*(word_keys(e.text) for e in support.ranked[:3]))),
        "article": sorted(word_keys(article)),
    }
    row["best_sentence"] = best.text
    row.update(
        coverage_sentence=coverage(terms, best.text),
        coverage_article=coverage(terms, f"{best.passage.title} {article}"),
        names=coverage(names, f"{best.passage.title} {article}") if names else 1.0,
        sentence_score=best.score,
    )
    row["copy_prob"] = None  # only a factoid asks the model (the others copy no span)
    if shape == "factoid":
        stats = GenerationStats()
        for item in assistant.compose(question, "factoid", support, stats):
            if not isinstance(item, str):
                break
        row["copy_prob"] = stats.copy_prob if stats.copy_prob is not None else 0.0
    return row


def old_rule_abstains(row: dict) -> bool:
    """Before: a passage below 0.25, or (every question was a factoid) a copy probability
    below 0.05; questions of other shapes, which ask no model now, count the first alone."""
    return row["relevance"] < 0.25 or (row["copy_prob"] is not None and row["copy_prob"] < 0.05)


def new_rule_abstains(row: dict, settings) -> bool:
    """``Assistant.enough_evidence``, then for a factoid the copy probability, where a
    sentence holding ``min_sentence_coverage`` of the question answers instead."""
    if row["shape"] == "summary":
        return False
    s = settings
    if row["relevance"] < s.min_relevance and row["coverage"] < s.min_coverage:
        return True
    if row["shape"] != "factoid":
        return False
    if row["topic"] < s.min_topic_coverage and row["copy_prob"] < s.min_topic_copy_prob:
        return True
    return row["copy_prob"] < s.min_copy_prob and row["coverage"] < s.min_sentence_coverage


def recompute(row: dict) -> dict:
    """The coverage signals again from the kept stems (after a change to the question's
    terms), so ``--reuse`` needs no model."""
    from rag.evidence import question_terms

    stems = row.get("stems")
    if not stems:
        return row
    terms = question_terms(row["question"])
    context = set(stems["sentence"]) | set(stems["previous"]) | set(stems["title"])

    def share(only_content: bool) -> float:
        chosen = {t: w for t, w in terms.items() if not only_content or w <= 1.0}
        total = sum(chosen.values())
        return sum(w for t, w in chosen.items() if t in context) / total if total else 1.0

    return {**row, "coverage": share(False), "topic": share(True)}


def collect(args) -> list[dict]:
    from ingest import ingest, ingest_articles
    from ingest.evaluation.datasets import load_squad, select
    from rag.pipeline import Assistant
    from rag.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="rag-abstention-"))
    rows = []

    def run(collection: str, items: list[dict], paths=None, articles=None):
        settings = Settings(home=home, collection=collection)
        if paths:
            ingest(paths, settings=settings)
        if articles:
            ingest_articles(articles, settings=settings)
        assistant = Assistant(settings)
        for item in items:
            row = {"set": item["set"], "question": item["question"]}
            row["answerable"] = bool(item["answerable"])
            row.update(features(assistant, item["question"]))
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)

    def read(path: Path) -> list[dict]:
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]

    dev = read(ROOT / "bench" / "devset" / "questions.jsonl")
    for q in dev:
        q["set"] = "dev set, tuning" if q["split"] == "tune" else "dev set, held out"
    run("devset", dev, paths=[ROOT / "bench" / "devset" / "articles"])
    demo = read(ROOT / "bench" / "devset" / "demo_questions.jsonl")
    demo += read(ROOT / "corpus" / "questions.jsonl")
    for q in demo:
        q["set"] = "demo article"
    run("demo", demo, paths=[ROOT / "corpus"])
    if args.squad:
        articles, questions = load_squad(args.squad)
        pos = select([q for q in questions if q.answerable], sample=args.sample, seed=args.seed)
        neg = select(
            [q for q in questions if q.answerable is False], sample=args.sample, seed=args.seed
        )
        items = [
            {"set": "SQuAD v2 split A", "question": q.question, "answerable": q.answerable}
            for pair in zip(pos, neg, strict=False)
            for q in pair
        ]
        run("squad", items, articles=articles)
    return rows


def report(rows: list[dict]) -> str:
    from rag.settings import Settings

    settings = Settings()
    sets = list(dict.fromkeys(r["set"] for r in rows))
    out = ["| signal | " + " | ".join(sets) + " |", "| --- |" + " --- |" * len(sets)]
    for signal in SIGNALS:
        cells = []
        for name in sets:
            part = [r for r in rows if r["set"] == name]
            value = auc(
                [r[signal] for r in part if r["answerable"] and r[signal] is not None],
                [r[signal] for r in part if not r["answerable"] and r[signal] is not None],
            )
            cells.append("—" if value is None else f"{value:.2f}")
        out.append(f"| AUC {signal} | " + " | ".join(cells) + " |")
    for label, rule in (
        ("old rule (relevance 0.25, copy prob 0.05)", old_rule_abstains),
        ("new rule (defaults)", lambda r: new_rule_abstains(r, settings)),
    ):
        cells = []
        for name in sets:
            part = [r for r in rows if r["set"] == name]
            pos = [r for r in part if r["answerable"]]
            neg = [r for r in part if not r["answerable"]]
            false = sum(rule(r) for r in pos)
            caught = sum(rule(r) for r in neg)
            cells.append(f"{caught}/{len(neg)} caught, {false}/{len(pos)} falsely")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    counts = {name: sum(1 for r in rows if r["set"] == name) for name in sets}
    out.append("")
    out.append("Questions per set: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ".")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--squad", type=Path, help="a SQuAD v2.0 file to sample from")
    parser.add_argument("--sample", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--features", type=Path, help="write every question's signals here")
    parser.add_argument("--reuse", type=Path, help="read the signals from here, ask nothing")
    parser.add_argument("--write", action="store_true", help="append the table to RESULTS.md")
    args = parser.parse_args(argv)
    if args.reuse:
        rows = [recompute(json.loads(x)) for x in args.reuse.read_text().splitlines() if x]
    else:
        rows = collect(args)
    if args.features:
        args.features.write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = report(rows)
    print(table)
    if args.write:
        path = ROOT / "bench" / "RESULTS.md"
        text = path.read_text(encoding="utf-8").rstrip("\n")
        path.write_text(text + "\n\n## Abstention signals (bench/abstention.py)\n\n" + table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
