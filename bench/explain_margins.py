"""How many sentences an explanation should hold: fact coverage and answer length of the
dev set's explanation and yes-no questions for each margin (a sentence joins the best one
when its score is within the margin) and sentence limit, tuning and held-out parts apart.

    python bench/explain_margins.py [--margins 0 0.05 0.1 ...] [--limits 1 2 3 4]

Runs only the embedder (retrieval and sentence scores; no language model): the articles
of ``bench/devset/articles`` are indexed into a temporary data directory, and each
question's scored sentences are kept, so every margin is tried on the same ranking. The
pipeline uses ``rag.pipeline.EXPLAIN_MARGIN`` and ``MAX_CLAIMS``, chosen from the tuning
part of this table (with ``FOLLOW_MARGIN`` for the next sentence).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--margins", type=float, nargs="+", default=[0, 0.1, 0.2, 0.3, 0.4])
    parser.add_argument("--limits", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument(
        "--follow",
        type=float,
        nargs="+",
        default=[None, 0.5, 1.0],
        help="also take the sentence after the best one when it scores within this (None: not)",
    )
    parser.add_argument("--same-article", choices=["yes", "no", "both"], default="yes")
    args = parser.parse_args(argv)

    from answers import facts_covered

    from ingest import ingest
    from rag.evidence import choose_sentences, in_article_order
    from rag.pipeline import Assistant
    from rag.settings import Settings

    settings = Settings(home=Path(tempfile.mkdtemp(prefix="rag-margins-")), collection="devset")
    ingest([ROOT / "bench" / "devset" / "articles"], settings=settings)
    assistant = Assistant(settings)
    rows = [
        json.loads(x)
        for x in (ROOT / "bench" / "devset" / "questions.jsonl").read_text().splitlines()
        if x
    ]
    rows = [r for r in rows if r["answerable"] and r["shape"] in ("explanation", "yes-no")]
    ranked = {}
    for r in rows:
        passages = assistant.retrieve(r["question"])
        ranked[r["id"]] = assistant.gather(r["question"], passages).ranked

    sames = {"yes": [True], "no": [False], "both": [True, False]}[args.same_article]

    def pick(ranked, margin, limit, same, follow):
        chosen = choose_sentences(ranked, margin, limit, same)
        if follow is None or not ranked:
            return chosen
        best = ranked[0]
        after = [e for e in ranked if e.article_id == best.article_id and e.index == best.index + 1]
        if after and after[0] not in chosen and after[0].score >= best.score - follow:
            chosen = in_article_order([*chosen, after[0]])
        return chosen

    print(
        "| shape | part | same article | limit | margin | next sentence within | "
        "fact coverage | mean sentences |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for shape in ("explanation", "yes-no"):
        for part in ("tune", "heldout"):
            chosen_rows = [r for r in rows if r["shape"] == shape and r["split"] == part]
            for same in sames:
                for limit, margin, follow in itertools.product(
                    args.limits, args.margins, args.follow
                ):
                    shares, lengths = [], []
                    for r in chosen_rows:
                        picked = pick(ranked[r["id"]], margin, limit, same, follow)
                        text = " ".join(ev.text for ev in picked)
                        shares.append(facts_covered(text, r["facts"]) / len(r["facts"]))
                        lengths.append(len(picked))
                    n = max(1, len(chosen_rows))
                    print(
                        f"| {shape} | {part} (n={len(chosen_rows)}) | {same} | {limit} | "
                        f"{margin} | {follow} | {sum(shares) / n:.3f} | "
                        f"{sum(lengths) / n:.2f} |"
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
