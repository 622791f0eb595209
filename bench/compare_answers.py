"""Compare two `rag eval` runs answer by answer (quality only: timings are left out).

    SQUAD=../shared/datasets/squad-v2-dev-a.json
    rag eval $SQUAD --format squad --sample 300 --seed 0 --out before
    # ... change the code ...
    rag eval $SQUAD --format squad --sample 300 --seed 0 --out after
    python bench/compare_answers.py before after [--write "title of the RESULTS.md section"]

For every question both runs asked: the answer text, abstention, cited spans, EM/F1, the rank
of the expected article and of an answer-bearing passage, and copy_prob (to 3 decimals).
Prints a table of the totals and every question that differs; with ``--write``, appends it
to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("answer", "abstained", "citations", "exact_match", "f1", "retrieved_rank", "answer_rank")


def rows(path: Path) -> dict[str, dict]:
    path = path / "results.jsonl" if path.is_dir() else path
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            found[row["id"]] = row
    return found


def key(row: dict) -> dict:
    """What must be equal for two answers to count as the same."""
    out = {field: row.get(field) for field in FIELDS}
    out["citations"] = [(c["source"], c["start"], c["end"]) for c in row.get("citations") or []]
    cp = row.get("copy_prob")
    out["copy_prob"] = None if cp is None else round(cp, 3)
    return out


def compare(before: dict[str, dict], after: dict[str, dict]) -> str:
    common = [qid for qid in before if qid in after]
    differ = [qid for qid in common if key(before[qid]) != key(after[qid])]

    def total(run, field):
        return sum(float(run[q].get(field) or 0) for q in common)

    lines = [
        "| measure | before | after |",
        "| --- | --- | --- |",
        f"| questions compared | {len(common)} | {len(common)} |",
        f"| mean F1 | {total(before, 'f1') / max(len(common), 1):.4f} "
        f"| {total(after, 'f1') / max(len(common), 1):.4f} |",
        f"| exact matches | {total(before, 'exact_match'):.0f} "
        f"| {total(after, 'exact_match'):.0f} |",
        f"| abstentions | {total(before, 'abstained'):.0f} | {total(after, 'abstained'):.0f} |",
        f"| answers identical (text, citations, ranks, copy_prob) | {len(common) - len(differ)} "
        f"| {len(common) - len(differ)} |",
        "",
    ]
    for qid in differ:
        b, a = key(before[qid]), key(after[qid])
        changed = {f: (b[f], a[f]) for f in b if b[f] != a[f]}
        lines.append(f"- {qid} {before[qid]['question']!r}: {changed}")
    if not differ:
        lines.append("Every answer is the same in both runs.")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    p.add_argument("--write", metavar="TITLE", help="append the table to bench/RESULTS.md")
    args = p.parse_args(argv)
    table = compare(rows(args.before), rows(args.after))
    print(table)
    if args.write:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as out:
            out.write(f"\n## {args.write}\n\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
