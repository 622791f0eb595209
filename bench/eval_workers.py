"""Batch evaluation throughput with 1 and 2 workers, interleaved, on one machine.

    python bench/eval_workers.py ../shared/datasets/squad-v2-dev-a.json [--questions 60]
        [--rounds 2]

The SQuAD articles are ingested once into a temporary data directory; then each round runs
``evaluate()`` on the same seeded sample with ``workers=1`` and ``workers=2`` (each worker
its own llama.cpp context with ``n_threads / workers`` threads) and reports answered
questions per second (``summary["run"]["answered_per_s"]``) and whether the answers match.
Dataset: SQuAD v2.0 dev (Rajpurkar, Jia and Liang, 2018; CC BY-SA 4.0).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("dataset", type=Path)
    p.add_argument("--questions", type=int, default=60)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        del os.environ[name]

    from ingest.evaluation import evaluate
    from rag.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="rag-workers-"))
    n_threads = Settings().n_threads
    # (workers, threads per model): one model on every core, two with half each, and one
    # model on one core (what each of the two workers gets)
    configs = [(1, n_threads), (2, max(1, n_threads // 2)), (1, max(1, n_threads // 2))]
    rates: dict[tuple, list[float]] = {c: [] for c in configs}
    answers: dict[tuple, list[str]] = {}
    try:
        base = Settings(home=home)
        evaluate(args.dataset, settings=base, format="squad", limit=1)  # ingest once
        for round_ in range(args.rounds):
            for workers, threads in configs:
                # n_threads is the whole budget; each of the workers gets an equal share
                settings = base.with_overrides(n_threads=threads * workers)
                result = evaluate(
                    args.dataset,
                    settings=settings,
                    format="squad",
                    sample=args.questions,
                    seed=0,
                    workers=workers,
                )
                rates[workers, threads].append(result.summary["run"]["answered_per_s"])
                answers[workers, threads] = [r.get("answer") for r in result.rows]
                print(
                    f"round {round_ + 1}: {workers} worker(s) x {threads} thread(s) "
                    f"{rates[workers, threads][-1]:.2f} q/s",
                    file=sys.stderr,
                )
    finally:
        shutil.rmtree(home, ignore_errors=True)

    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    print(
        f"\n{args.questions} questions (answerable and not), {args.rounds} interleaved rounds; "
        f"{cpu}, {os.cpu_count()} cores, RAG_N_THREADS={n_threads}; "
        f"load avg {os.getloadavg()[0]:.1f}\n"
    )
    print("| workers | threads per model | answered/s (median) | min – max |")
    print("| --- | --- | --- | --- |")
    for (workers, threads), values in rates.items():
        print(
            f"| {workers} | {threads} | {statistics.median(values):.2f} | "
            f"{min(values):.2f} – {max(values):.2f} |"
        )
    one, two, single = (statistics.median(rates[c]) for c in configs)
    same = len({tuple(a) for a in answers.values()}) == 1
    print(
        f"\n2 workers / 1 worker on all {n_threads} threads: {two / one:.2f}x; "
        f"2 workers / 1 worker on one thread: {two / single:.2f}x; same answers: {same}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
