"""Answer quality and cost, before and after a change, in one run.

    python bench/answers.py devset [--before CHECKOUT] [--rows rows.jsonl] [--write]
    python bench/answers.py squad DATASET [--before CHECKOUT] [--sample 150] [--seed 0] [--write]

Each checkout (``--before``: another checkout of this repository, e.g. a ``git worktree``
of an older commit; the current one is "after") gets its own worker process
(``bench/answer_worker.py``) with its own data directory, so both load their own models
and index the same articles. Questions go to the two workers in turn, one at a time, the
order alternating from question to question, so a busy machine slows both alike.

``devset``: the news-like articles in ``bench/devset/articles`` and their questions
(``bench/devset/questions.jsonl``: each names the facts a good answer contains, each fact
a list of acceptable phrasings), then the demo article (``corpus/``) with the ten questions
of ``bench/devset/demo_questions.jsonl`` and those of ``corpus/questions.jsonl``. Prints:
fact coverage (the share of a question's facts the answer states, 0 when it abstains;
averaged over answerable questions) and the counts of right (every fact), partly right,
wrong (none), wrongly abstained, correctly abstained and unanswerable answered, for all
questions, the tuning part and the held-out part (``split`` in the questions file), and
the demo questions one by one.

``squad``: a seeded sample of a SQuAD v2.0 file (N answerable + N unanswerable): F1 of the
short answer on the answerable questions whose shape (``rag.shapes.question_shape``) is
factoid, on all answerable ones, abstention, and warm latency p50/p95 of each checkout.

``--write`` adds the tables to ``bench/RESULTS.md`` with the date, CPU and load average.
``RAG_*`` variables are ignored.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.results import cpu_name  # noqa: E402

DEVSET = ROOT / "bench" / "devset"
WORKER = ROOT / "bench" / "answer_worker.py"
SQUAD_CITATION = "SQuAD v2.0 dev (Rajpurkar, Jia and Liang, 2018; CC BY-SA 4.0)"
_MARKERS = re.compile(r"\s*\[\d+\]")


# ----- scoring -------------------------------------------------------------------------
def _norm(text: str) -> str:
    """Lower case, straight quotes, one space.

    >>> _norm("Meridian’s  OFFER")
    "meridian's offer"
    """
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    return " ".join(text.replace("\u201d", '"').lower().split())


def facts_covered(text: str, facts: list[list[str]]) -> int:
    """How many facts the text states (any of a fact's phrasings, ignoring case).

    >>> facts_covered("They want 9% and £1,500 [1].", [["9%"], ["£1,500"], ["inflation"]])
    2
    """
    said = _norm(_MARKERS.sub("", text))
    return sum(any(_norm(p) in said for p in fact) for fact in facts)


def grade(row: dict, reply: dict) -> tuple[str, float | None]:
    """(verdict, fact coverage) of one reply; coverage is None for unanswerable questions.

    >>> q = {"answerable": True, "facts": [["9%"], ["inflation"]]}
    >>> grade(q, {"abstained": False, "text": "9% [1]"})
    ('partly right', 0.5)
    >>> grade(q, {"abstained": True, "text": "The articles don't say."})
    ('wrongly abstained', 0.0)
    >>> grade({"answerable": False, "facts": []}, {"abstained": False, "text": "x"})
    ('unanswerable answered', None)
    """
    if not row["answerable"]:
        return ("correctly abstained" if reply["abstained"] else "unanswerable answered"), None
    if reply.get("error"):
        return "error", 0.0
    if reply["abstained"]:
        return "wrongly abstained", 0.0
    facts = row["facts"]
    share = facts_covered(reply["text"], facts) / len(facts) if facts else 1.0
    verdict = "right" if share == 1.0 else "partly right" if share > 0 else "wrong"
    return verdict, share


VERDICTS = (
    "right",
    "partly right",
    "wrong",
    "wrongly abstained",
    "correctly abstained",
    "unanswerable answered",
)


def tally(graded: list[tuple[str, float | None]]) -> dict:
    counts = {v: sum(1 for g, _ in graded if g == v) for v in VERDICTS}
    shares = [s for _, s in graded if s is not None]
    counts["fact coverage"] = round(sum(shares) / len(shares), 3) if shares else None
    counts["n"] = len(graded)
    counts["answerable"] = len(shares)
    return counts


# ----- workers -------------------------------------------------------------------------
class Worker:
    """One checkout's answering process (see ``bench/answer_worker.py``)."""

    def __init__(self, name: str, checkout: Path, home: Path):
        self.name = name
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
        env["PYTHONPATH"] = str(checkout)
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), str(checkout), str(home)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=checkout,
        )

    def call(self, request: dict) -> dict:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name}: the worker stopped (see its stderr above)")
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_workers(args, home: Path) -> list[Worker]:
    workers = []
    if args.before:
        workers.append(Worker("before", Path(args.before).resolve(), home / "before"))
    workers.append(Worker("after", ROOT, home / "after"))
    return workers


def ask_all(
    workers: list[Worker], questions: list[dict], collection: str, threads: int | None = None
) -> list[dict]:
    """Each question to every worker, the order alternating; returns {worker: reply} rows."""
    rows = []
    for i, q in enumerate(questions):
        order = workers if i % 2 == 0 else list(reversed(workers))
        request = {"ask": q["question"], "collection": collection, "n_threads": threads}
        replies = {w.name: w.call(request) for w in order}
        rows.append({"question": q, "replies": replies})
        if (i + 1) % 10 == 0 or i + 1 == len(questions):
            print(f"{collection}: {i + 1}/{len(questions)} questions", file=sys.stderr)
    return rows


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


# ----- machine -------------------------------------------------------------------------
def machine_line() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"CPU {cpu_name()}, {os.cpu_count()} cores; load average {load:.2f}"


def _cell(text: str, width: int = 110) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


# ----- devset --------------------------------------------------------------------------
def run_devset(args) -> str:
    if args.from_rows:  # report an earlier run's replies again (--rows), asking nothing
        rows = read_jsonl(args.from_rows)
        dev_rows = [r for r in rows if not r["question"]["id"].startswith(("demo-", "sb-"))]
        demo_rows = [r for r in rows if r["question"]["id"].startswith(("demo-", "sb-"))]
        return devset_report(dev_rows, demo_rows, list(rows[0]["replies"]), 0.0)
    questions = read_jsonl(DEVSET / "questions.jsonl")
    demo = read_jsonl(DEVSET / "demo_questions.jsonl")
    demo += [
        {
            "id": q["id"],
            "question": q["question"],
            "answerable": q["answerable"],
            "facts": [q["answers"]] if q["answers"] else [],
        }
        for q in read_jsonl(ROOT / "corpus" / "questions.jsonl")
    ]
    home = args.home or Path(tempfile.mkdtemp(prefix="rag-answers-bench-"))
    workers = start_workers(args, home)
    started = time.perf_counter()
    try:
        for w in workers:
            w.call({"ingest": [str(DEVSET / "articles")], "collection": "devset"})
            w.call({"ingest": [str(ROOT / "corpus")], "collection": "demo"})
        dev_rows = ask_all(workers, questions, "devset", args.threads)
        demo_rows = ask_all(workers, demo, "demo", args.threads)
    finally:
        for w in workers:
            w.close()
    wall = time.perf_counter() - started
    if args.before_rows:  # the before checkout's replies from an earlier run (--rows)
        kept = {
            r["question"]["question"]: r["replies"]["before"] for r in read_jsonl(args.before_rows)
        }
        for row in dev_rows + demo_rows:
            row["replies"] = {"before": kept[row["question"]["question"]], **row["replies"]}
    if args.rows:
        with Path(args.rows).open("w", encoding="utf-8") as handle:
            for row in dev_rows + demo_rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    names = list(dev_rows[0]["replies"]) if dev_rows else [w.name for w in workers]
    return devset_report(dev_rows, demo_rows, names, wall)


def devset_report(dev_rows: list[dict], demo_rows: list[dict], names: list[str], wall: float):
    out = [
        f"Dev set: {len(dev_rows)} questions over {len(list((DEVSET / 'articles').glob('*')))}"
        f" news-like articles written for this benchmark (`bench/devset/`); "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine_line()}; wall {wall:.0f} s.",
        "",
        "| part | code | n | fact coverage | " + " | ".join(VERDICTS) + " |",
        "| --- | --- | --- | --- | " + " | ".join("---" for _ in VERDICTS) + " |",
    ]
    parts = {
        "all": dev_rows,
        "tuning": [r for r in dev_rows if r["question"].get("split") == "tune"],
        "held out": [r for r in dev_rows if r["question"].get("split") == "heldout"],
    }
    for part, rows in parts.items():
        for name in names:
            t = tally([grade(r["question"], r["replies"][name]) for r in rows])
            cells = " | ".join(str(t[v]) for v in VERDICTS)
            out.append(f"| {part} | {name} | {t['n']} | {t['fact coverage']} | {cells} |")
    answerable = [r for r in dev_rows if r["question"]["answerable"]]
    for name in names:
        verdicts = [grade(r["question"], r["replies"][name])[0] for r in answerable]
        wrong_abstain = verdicts.count("wrongly abstained")
        words = [
            len(_MARKERS.sub("", r["replies"][name]["text"]).split())
            for r in answerable
            if not r["replies"][name]["abstained"]
        ]
        mean_words = sum(words) / len(words) if words else 0
        out.append(
            f"\n{name}: wrongly abstained {wrong_abstain}/{len(answerable)} answerable "
            f"({wrong_abstain / max(1, len(answerable)):.1%}); mean answer length "
            f"{mean_words:.1f} words"
        )
    shapes = sorted({r["question"]["shape"] for r in dev_rows})
    out += ["", "By question shape (all parts):", ""]
    out.append("| shape | code | n | fact coverage | right | partly | wrong | wrongly abstained |")
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for shape in shapes:
        rows = [r for r in dev_rows if r["question"]["shape"] == shape]
        for name in names:
            t = tally([grade(r["question"], r["replies"][name]) for r in rows])
            out.append(
                f"| {shape} | {name} | {t['n']} | {t['fact coverage']} | {t['right']} | "
                f"{t['partly right']} | {t['wrong']} | {t['wrongly abstained']} |"
            )
    out += ["", "Demo article (`corpus/`), question by question:", ""]
    out.append("| question | " + " | ".join(names) + " |")
    out.append("| --- | " + " | ".join("---" for _ in names) + " |")
    for r in demo_rows:
        cells = []
        for name in names:
            reply = r["replies"][name]
            verdict, _ = grade(r["question"], reply)
            cells.append(f"**{verdict}**: " + _cell(reply.get("text", reply.get("error")), 150))
        out.append(f"| {_cell(r['question']['question'], 80)} | " + " | ".join(cells) + " |")
    for name in names:
        t = tally([grade(r["question"], r["replies"][name]) for r in demo_rows])
        out.append(
            f"\n{name}, demo questions: "
            + ", ".join(f"{t[v]} {v}" for v in VERDICTS if t[v])
            + f"; fact coverage {t['fact coverage']}"
        )
    return "\n".join(out)


# ----- squad ---------------------------------------------------------------------------
def run_squad(args) -> str:
    from ingest.evaluation.datasets import load_squad, select
    from ingest.evaluation.metrics import exact_match
    from rag.shapes import question_shape
    from rag.text import f1_score

    articles, questions = load_squad(args.dataset)
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if q.answerable is False]
    pos = select(answerable, sample=args.sample, seed=args.seed)
    neg = select(unanswerable, sample=args.sample, seed=args.seed)
    chosen = [q for pair in zip(pos, neg, strict=False) for q in pair]
    records = [
        {"source": a.source, "title": a.title, "text": a.text, "date": a.date} for a in articles
    ]
    home = args.home or Path(tempfile.mkdtemp(prefix="rag-answers-squad-"))
    workers = start_workers(args, home)
    started = time.perf_counter()
    try:
        for w in workers:
            w.call({"ingest_articles": records, "collection": "squad"})
            warm = {"ask": chosen[0].question, "collection": "squad", "n_threads": args.threads}
            w.call(warm)  # load the models
        listed = [{"question": q.question} for q in chosen]
        rows = ask_all(workers, listed, "squad", args.threads)
    finally:
        for w in workers:
            w.close()
    wall = time.perf_counter() - started
    if args.rows:
        with Path(args.rows).open("w", encoding="utf-8") as handle:
            for q, row in zip(chosen, rows, strict=True):
                row["gold"] = list(q.answers)
                row["answerable"] = q.answerable
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    def short(reply: dict) -> str | None:
        if reply.get("error") or reply["abstained"]:
            return None
        return reply.get("short_answer") or _MARKERS.sub("", reply["text"]).strip()

    def f1(reply: dict, golds) -> float:
        predicted = short(reply)
        return 0.0 if predicted is None else max(f1_score(predicted, g) for g in golds)

    def em(reply: dict, golds) -> float:
        predicted = short(reply)
        return 0.0 if predicted is None else max(exact_match(predicted, g) for g in golds)

    def pct(values, q):
        values = sorted(values)
        k = (len(values) - 1) * q
        lo, hi = int(k), min(int(k) + 1, len(values) - 1)
        return values[lo] + (values[hi] - values[lo]) * (k - lo)

    names = [w.name for w in workers]
    factoid = [
        i for i, q in enumerate(chosen) if q.answerable and question_shape(q.question) == "factoid"
    ]
    answerable_i = [i for i, q in enumerate(chosen) if q.answerable]
    unanswerable_i = [i for i, q in enumerate(chosen) if q.answerable is False]
    table = [
        f"{len(pos)} answerable + {len(neg)} unanswerable questions (seed {args.seed}) of "
        f"`{Path(args.dataset).name}`, {SQUAD_CITATION}; {len(factoid)} of the answerable are "
        f"factoid by `rag.shapes.question_shape`. {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"{machine_line()} at the end; wall {wall:.0f} s; questions interleaved between the "
        "checkouts, the order alternating.",
        "",
        "| measure | " + " | ".join(names) + " |",
        "| --- | " + " | ".join("---" for _ in names) + " |",
    ]

    def line(label, fn):
        table.append(f"| {label} | " + " | ".join(fn(n) for n in names) + " |")

    def mean_f1(name: str, indices: list[int]) -> str:
        values = [f1(rows[i]["replies"][name], chosen[i].answers) for i in indices]
        return f"{sum(values) / max(1, len(values)):.3f}"

    def mean_em(name: str, indices: list[int]) -> str:
        values = [em(rows[i]["replies"][name], chosen[i].answers) for i in indices]
        return f"{sum(values) / max(1, len(values)):.3f}"

    def abstained(name: str, indices: list[int]) -> str:
        values = [rows[i]["replies"][name]["abstained"] for i in indices]
        return f"{sum(values) / max(1, len(values)):.3f}"

    line(f"short-answer F1, factoid (n={len(factoid)})", lambda n: mean_f1(n, factoid))
    line("short-answer EM, factoid", lambda n: mean_em(n, factoid))
    line("factoid abstained on", lambda n: abstained(n, factoid))
    line(f"F1, all answerable (n={len(answerable_i)})", lambda n: mean_f1(n, answerable_i))
    line("answerable abstained on", lambda n: abstained(n, answerable_i))
    line("unanswerable abstained on (recall)", lambda n: abstained(n, unanswerable_i))
    latencies = {n: [r["replies"][n]["wall_s"] for r in rows] for n in names}
    line("warm latency p50 (s)", lambda n: f"{pct(latencies[n], 0.5):.3f}")
    line("warm latency p95 (s)", lambda n: f"{pct(latencies[n], 0.95):.3f}")
    if len(names) == 2:
        diffs = [b - a for a, b in zip(latencies[names[0]], latencies[names[1]], strict=True)]
        table.append(
            f"\nPaired latency difference ({names[1]} − {names[0]}), per question: "
            f"p50 {pct(diffs, 0.5):+.3f} s, mean {sum(diffs) / len(diffs):+.3f} s."
        )
        differ = [
            (
                f1(rows[i]["replies"][names[1]], chosen[i].answers)
                - f1(rows[i]["replies"][names[0]], chosen[i].answers),
                i,
            )
            for i in factoid
        ]
        differ = sorted((d, i) for d, i in differ if abs(d) > 1e-9)
        if differ:
            table.append(f"\nFactoids whose short-answer F1 differs ({names[1]} − {names[0]}):\n")
        for d, i in differ:
            cells = [_cell(short(rows[i]["replies"][n]) or "(abstained)", 60) for n in names]
            table.append(f"- {d:+.2f} {_cell(chosen[i].question, 90)}: " + " → ".join(cells))
    return "\n".join(table)


# ----- main ----------------------------------------------------------------------------
def write_results(title: str, body: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + f"\n\n## {title}\n\n{body}\n", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("devset", help="the news dev set and the demo questions")
    squad = sub.add_parser("squad", help="short-answer F1 and latency on a SQuAD v2.0 file")
    squad.add_argument("dataset", type=Path)
    squad.add_argument("--sample", type=int, default=150)
    squad.add_argument("--seed", type=int, default=0)
    dev.add_argument("--from-rows", type=Path, help="only report the replies of an earlier --rows")
    dev.add_argument(
        "--before-rows",
        type=Path,
        help="take the before checkout's replies from an earlier run's --rows file (the before "
        "code does not change) instead of asking it again",
    )
    for p in (dev, squad):
        p.add_argument("--before", type=Path, help="a checkout of the code to compare with")
        p.add_argument("--home", type=Path, help="data directory to keep (and reuse) the indexes")
        p.add_argument("--threads", type=int, help="llama.cpp threads (default: the cores)")
        p.add_argument("--rows", type=Path, help="write every question's replies here (JSONL)")
        p.add_argument("--write", action="store_true", help="append the tables to RESULTS.md")
    args = parser.parse_args(argv)
    random.seed(0)
    if args.command == "devset":
        report = run_devset(args)
        title = "Answers: the news dev set and the demo questions (bench/answers.py devset)"
    else:
        report = run_squad(args)
        title = "Answers: split A short-answer F1 and latency (bench/answers.py squad)"
    print(report)
    if args.write:
        write_results(title, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
