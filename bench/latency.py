"""Cold start, warm answer latency, ingest throughput and peak memory on the demo corpus.

    python bench/latency.py [--repeat 20]

Runs in a fresh temporary data directory with the embedded defaults; prints one table.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20, help="questions timed (warm)")
    args = parser.parse_args()

    started = time.perf_counter()
    import ingest
    import rag

    settings = rag.Settings(home=Path(tempfile.mkdtemp(prefix="rag-latency-")))
    report = ingest.ingest(ROOT / "corpus", settings=settings)
    first = rag.answer("How much does SoftBank pay OpenAI?", settings=settings)
    cold = time.perf_counter() - started

    questions = [
        json.loads(line)["question"]
        for line in (ROOT / "corpus" / "questions.jsonl").read_text().splitlines()
        if line.strip()
    ]
    timings, abstained = [], 0
    for i in range(args.repeat):
        t = time.perf_counter()
        a = rag.answer(questions[i % len(questions)], settings=settings)
        timings.append(time.perf_counter() - t)
        abstained += a.abstained
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        ("cold start: import, ingest corpus, load models, first answer (s)", f"{cold:.2f}"),
        ("first answer", first.text),
        ("ingest (chunks embedded / s, includes embedder load)", f"{report.chunks_per_second:.1f}"),
        (
            f"warm answer latency p50 over {args.repeat} questions (s)",
            f"{statistics.median(timings):.3f}",
        ),
        (
            f"warm answer latency p95 over {args.repeat} questions (s)",
            f"{percentile(timings, 0.95):.3f}",
        ),
        ("abstained", f"{abstained}/{args.repeat}"),
        ("peak RSS (MB)", f"{rss_mb:.0f}"),
    ]
    print("| measure | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
