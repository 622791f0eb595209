"""How well the claim check (``rag.claims``) keeps faithful claims and catches perturbed ones.

The labelled set is built from split-A sentences (SQuAD v2.0 dev, Rajpurkar et al. 2018,
CC BY-SA 4.0) by ``bench/claim_set.py`` (``bench/data/claims_auto.jsonl``) plus hand-written
items (``bench/data/claims_handwritten.jsonl``). Each claim is checked two ways:

- against its sentence: ``check_claim(claim, [sentence])``;
- against its paragraph: ``support``, as the pipeline does with the sources a claim cites
  (any one sentence of the paragraph, or any two): harder for catching perturbations, since
  a changed number or name may occur in another sentence.

Items of four articles tuned the check; the other four are held out.

    python bench/claim_check.py            # prints the table
    python bench/claim_check.py --write    # and writes it into bench/RESULTS.md
    python bench/claim_check.py --misses   # every item the check gets wrong
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import cpu_name, write_section  # noqa: E402
from rag.claims import Draft, SourceSentence, check_claim, support  # noqa: E402
from rag.text import split_sentences  # noqa: E402

DATA = ROOT / "bench" / "data"
FILES = ("claims_auto.jsonl", "claims_handwritten.jsonl")
CITATION = "SQuAD v2.0 dev, Rajpurkar et al. 2018, CC BY-SA 4.0"
SECTION = "Claim check (issue 16, bench/claim_check.py)"


def load() -> list[dict]:
    items = []
    for name in FILES:
        for line in (DATA / name).read_text().splitlines():
            if line.strip():
                items.append(json.loads(line))
    return items


def judge(item: dict) -> tuple[bool, bool, str, str]:
    """(passes against its sentence, passes against its paragraph, reasons)."""
    alone = check_claim(item["claim"], [item["sentence"]])
    paragraph = item.get("paragraph") or item["sentence"]
    sentences = [SourceSentence(1, s, e, paragraph[s:e]) for s, e in split_sentences(paragraph)]
    found = support(Draft(item["claim"], (1,)), sentences)
    return alone.passed, found.check.passed, alone.reason, found.check.reason


def table(items: list[dict]) -> tuple[list[str], dict]:
    rows: dict[tuple[str, str], list[tuple[bool, bool]]] = defaultdict(list)
    for item in items:
        alone, para, _, _ = item["result"]
        rows[(item["label"], item["type"])].append((alone, para, item["split"]))
    lines = [
        "| label | type | n (tune / held-out) | right, against its sentence: tune / held-out |"
        " right, against its paragraph: tune / held-out |",
        "| --- | --- | --- | --- | --- |",
    ]
    totals: dict[tuple[str, str, int], list[bool]] = defaultdict(list)

    def rate(values: list[bool]) -> str:
        return f"{sum(values) / len(values):.2f}" if values else "–"

    for (label, kind), results in sorted(rows.items()):
        right = (lambda ok: ok) if label == "faithful" else (lambda ok: not ok)
        cells = []
        for col in (0, 1):
            per = []
            for split in ("tune", "held-out"):
                values = [right(r[col]) for r in results if r[2] == split]
                totals[(label, split, col)] += values
                per.append(rate(values))
            cells.append(" / ".join(per))
        n_t = sum(r[2] == "tune" for r in results)
        lines.append(
            f"| {label} | {kind} | {n_t} / {len(results) - n_t} | {cells[0]} | {cells[1]} |"
        )
    summary = {}
    for label, what in (("faithful", "kept"), ("perturbed", "caught")):
        cells = []
        for col in (0, 1):
            per = []
            for split in ("tune", "held-out"):
                values = totals[(label, split, col)]
                summary[(label, split, col)] = sum(values) / len(values) if values else None
                per.append(rate(values))
            cells.append(" / ".join(per))
        n_t = len(totals[(label, "tune", 0)])
        n_h = len(totals[(label, "held-out", 0)])
        lines.append(
            f"| **{label}: {what}** | all | {n_t} / {n_h} | **{cells[0]}** | **{cells[1]}** |"
        )
    return lines, summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the table into RESULTS.md")
    parser.add_argument("--misses", action="store_true", help="print the items judged wrongly")
    args = parser.parse_args(argv)
    items = load()
    started = time.perf_counter()
    for item in items:
        item["result"] = judge(item)
    per_claim_ms = (time.perf_counter() - started) / len(items) / 2 * 1000
    lines, summary = table(items)
    head = (
        f"{len(items)} labelled claims from split-A sentences ({CITATION}): "
        f"{sum(i['label'] == 'faithful' for i in items)} faithful, "
        f"{sum(i['label'] == 'perturbed' for i in items)} perturbed "
        f"({sum(i['type'].startswith('hand') for i in items)} of them hand-written). Rates are "
        "the share judged right: faithful kept, perturbed caught. Targets: catch ≥ 0.95 of "
        "perturbed claims, keep ≥ 0.90 of faithful ones. "
        f"{per_claim_ms:.2f} ms per check; CPU: {cpu_name()}, {os.cpu_count()} cores; load "
        f"average {os.getloadavg()[0]:.1f}; {datetime.now(UTC):%Y-%m-%d %H:%M UTC}."
    )
    text = "\n".join([head, "", *lines])
    print(text)
    if args.misses:
        for item in items:
            alone, para, why_alone, why_para = item["result"]
            wrong = (not alone or not para) if item["label"] == "faithful" else (alone or para)
            if wrong:
                print(
                    f"\n[{item['type']} {item['split']}] alone={alone} ({why_alone}) "
                    f"paragraph={para} ({why_para})\n  claim:    {item['claim']}\n"
                    f"  sentence: {item['sentence']}"
                )
    if args.write:
        write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
