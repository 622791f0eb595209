"""The same Gemma model in-process (llama-cpp) and through ``python -m llama_cpp.server``
(generator ``openai``): answerable F1, abstention, and the HTTP path's latency overhead.

    python bench/backends.py ../shared/datasets/squad-v2-dev-a.json [--sample 100 --seed 0]
        [--set FIELD=VALUE ...] [--rows out.jsonl]

Ingests the dataset's articles once into a temporary data directory, starts the server on
127.0.0.1 (free port, 2 threads like the in-process model), then asks every question of a
seeded sample (N answerable + N unanswerable) of both backends, interleaved: the order of
the two alternates from question to question, so a busy neighbour slows both alike.
Prints one Markdown table: F1, abstention recall, false-abstention rate, latency p50/p95 of
each, the paired overhead (server minus in-process, per question) and how often the two
give the same answer. ``RAG_*`` variables are ignored.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CITATION = "SQuAD v2.0 dev (Rajpurkar, Jia and Liang, 2018; CC BY-SA 4.0)"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("dataset", type=Path)
    p.add_argument("--sample", type=int, default=100, help="answerable (and unanswerable) asked")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    p.add_argument("--rows", type=Path, help="write every answer pair here (JSONL), as it goes")
    p.add_argument(
        "--budget-min",
        type=float,
        help="stop asking after this many minutes and report the questions done so far "
        "(answerable and unanswerable questions alternate, so both kinds are covered)",
    )
    return p.parse_args(argv)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv=None) -> int:
    args = parse_args(argv)
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        del os.environ[name]

    from ingest import ingest_articles
    from ingest.evaluation import metrics
    from ingest.evaluation.datasets import load_squad, select
    from ingest.evaluation.runner import score_row
    from rag.backends.llama_cpp import model_path
    from rag.pipeline import Assistant
    from rag.settings import Settings
    from tests.llm_server import MODEL_ALIAS, start_llama_server

    articles, questions = load_squad(args.dataset)
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if q.answerable is False]
    pos = select(answerable, sample=args.sample, seed=args.seed)
    neg = select(unanswerable, sample=args.sample, seed=args.seed)
    chosen = [q for pair in zip(pos, neg, strict=False) for q in pair]
    home = Path(tempfile.mkdtemp(prefix="rag-bench-backends-"))
    overrides = dict(pair.split("=", 1) for pair in args.set)
    local = Settings(home=home, collection="bench").with_overrides(**overrides)
    server = None
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    try:
        report = ingest_articles(articles, settings=local, progress=True)
        print(f"bench: ingested {len(articles)} articles", report, file=sys.stderr)
        server = start_llama_server(model_path(local), home / "llama-server.log")
        remote = local.with_overrides(
            generator="openai",
            llm_base_url=server.base_url,
            llm_model=MODEL_ALIAS,
            llm_answer="copy",
        )
        assistants = {"local": Assistant(local), "http": Assistant(remote)}
        for a in assistants.values():  # load models and indexes before timing
            a.answer(chosen[0].question)
        rows: dict[str, list[dict]] = {"local": [], "http": []}
        pairs = []
        sink = args.rows.open("w") if args.rows else None
        deadline = time.monotonic() + 60 * args.budget_min if args.budget_min else None
        for i, q in enumerate(chosen):
            if deadline and time.monotonic() > deadline and i % 2 == 0:
                print(f"bench: time budget spent after {i} questions", file=sys.stderr)
                break
            order = ("local", "http") if i % 2 == 0 else ("http", "local")
            got = {}
            for name in order:
                answer = assistants[name].answer(q.question)
                got[name] = answer
                rows[name].append(score_row(q, answer, answer.passages))
            pairs.append(
                {
                    "id": q.id,
                    "answerable": q.answerable,
                    **{f"{n}_text": got[n].text for n in got},
                    **{f"{n}_copy_prob": got[n].copy_prob for n in got},
                    **{f"{n}_latency_s": got[n].latency_s for n in got},
                }
            )
            if sink:
                sink.write(json.dumps(pairs[-1]) + "\n")
                sink.flush()
            print(
                f"{i + 1}/{len(chosen)} local={got['local'].text[:40]!r} "
                f"http={got['http'].text[:40]!r}",
                file=sys.stderr,
            )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(home, ignore_errors=True)
    wall = time.perf_counter() - started

    summaries = {n: metrics.summarize(r) for n, r in rows.items()}
    overhead = [p["http_latency_s"] - p["local_latency_s"] for p in pairs]
    same = sum(p["local_text"] == p["http_text"] for p in pairs) / len(pairs)

    def f(v, d=3):
        return "–" if v is None else f"{v:.{d}f}"

    lines = [
        f"Same model (Gemma 3 270M Q4_K_M), in-process vs `python -m llama_cpp.server`; "
        f"{summaries['local']['n_answerable']} answerable + "
        f"{summaries['local']['n_unanswerable']} unanswerable "
        f"questions (seed {args.seed}) of {args.dataset.name}, {CITATION}. "
        f"CPU: {cpu_name()}, {os.cpu_count()} cores; load average {load_before:.1f} at "
        f"the start; wall {wall:.0f} s; {datetime.now(UTC):%Y-%m-%d %H:%M UTC}.",
        "",
        "| | in-process (llama-cpp) | server (openai) | difference |",
        "| --- | --- | --- | --- |",
    ]
    for key, label in (
        ("f1", "answerable F1"),
        ("em", "answerable EM"),
        ("abstain_recall", "abstention recall (unanswerable abstained on)"),
        ("false_abstain_rate", "false-abstention rate (answerable abstained on)"),
        ("latency_p50_s", "latency p50 (s)"),
        ("latency_p95_s", "latency p95 (s)"),
    ):
        a, b = summaries["local"][key], summaries["http"][key]
        diff = None if a is None or b is None else b - a
        lines.append(f"| {label} | {f(a)} | {f(b)} | {f(diff, 3)} |")
    lines.append(
        f"| HTTP overhead per question, paired (s) | | | p50 {f(metrics.percentile(overhead, 50))}"
        f" · p95 {f(metrics.percentile(overhead, 95))} |"
    )
    lines.append(f"| same answer text | | | {same:.3f} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
