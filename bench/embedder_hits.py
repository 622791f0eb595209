"""Retrieval with the int8 embedder against fp32, on the same articles and questions.

    python bench/embedder_hits.py ../shared/datasets/squad-v2-dev-a.json [--limit N]

Ingests the SQuAD articles once per embedder (``sentence-transformers`` fp32 and
``onnx-int8``) into fresh data directories, then reports hit@1/5/10 and MRR of the
question's article and of an answer-bearing passage, for dense and hybrid retrieval, over
the answerable questions. Goal (issue 11): int8 hit@5 within 0.01 of fp32.
Dataset: SQuAD v2.0 dev (Rajpurkar, Jia and Liang, 2018; CC BY-SA 4.0).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

EMBEDDERS = ("sentence-transformers", "onnx-int8")
MODES = ("dense", "hybrid")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("dataset", type=Path)
    p.add_argument("--limit", type=int, help="answerable questions (default all)")
    args = p.parse_args(argv)
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        del os.environ[name]

    import run as bench_run  # bench/run.py: the same ingest and retrieval steps

    from ingest.evaluation.datasets import load_squad
    from rag.settings import Settings

    articles, questions = load_squad(args.dataset)
    questions = [q for q in questions if q.answerable][: args.limit]
    bench_run.MODES = MODES
    results = {}
    for name in EMBEDDERS:
        home = Path(tempfile.mkdtemp(prefix=f"rag-hits-{name}-"))
        try:
            settings = Settings(home=home, collection="hits", embedder=name)
            ingest = bench_run.ingest_step(articles, settings)
            results[name] = (ingest, bench_run.retrieval_step(questions, settings))
        finally:
            shutil.rmtree(home, ignore_errors=True)

    cpu = bench_run.machine().get("cpu", "unknown CPU")
    print(
        f"\n{len(articles)} articles, {len(questions)} answerable questions; {cpu}, "
        f"{os.cpu_count()} cores; load avg {os.getloadavg()[0]:.1f}\n"
    )
    print("| embedder | mode | article hit@1 / @5 / @10 / MRR | answer-passage hit@1 / @5 / @10 |")
    print("| --- | --- | --- | --- |")
    for name, (ingest, retrieval) in results.items():
        for mode in MODES:
            r = retrieval[mode]
            art = " / ".join(f"{r[k]:.3f}" for k in ("hit_at_1", "hit_at_5", "hit_at_10", "mrr"))
            ans = " / ".join(f"{r[f'answer_hit_at_{k}']:.3f}" for k in (1, 5, 10))
            print(f"| {name} ({ingest['chunks_per_s']} chunks/s) | {mode} | {art} | {ans} |")
    fp32, int8 = (results[n][1] for n in EMBEDDERS)
    for mode in MODES:
        for key in ("hit_at_5", "answer_hit_at_5"):
            delta = int8[mode][key] - fp32[mode][key]
            print(f"{mode} {key}: int8 - fp32 = {delta:+.3f} (goal: within 0.01)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
