"""Lexical retrieval before and after the on-disk index, on the same ingested collection.

    pip install -e '.[bench]'     # rank_bm25
    python bench/lexical.py ../shared/datasets/squad-v2-dev-a.json [--limit N]

Ingests the SQuAD file's articles once (real MiniLM embeddings, a temporary data directory),
then ranks every answerable question's passages with
- ``rank_bm25`` in memory over all chunks (the retriever before issue 11), and
- SQLite FTS5 ``bm25()`` (``store.lexical_search``, the on-disk index),
alone (bm25) and fused with dense retrieval (hybrid), and prints hit@1/5/10 of the
question's article and of an answer-bearing passage, with p50 latency. Dataset: SQuAD v2.0
dev (Rajpurkar, Jia and Liang, 2018; CC BY-SA 4.0).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEPTH = 10


class RankBM25Retriever:
    """The lexical retriever before issue 11: ``rank_bm25`` in memory over every committed
    chunk (title and text through the one tokenizer), built once."""

    def __init__(self, store):
        from rank_bm25 import BM25Okapi

        from rag.text import tokenize

        self.tokenize = tokenize
        self.entries = store.all_chunks()
        corpus = [tokenize(f"{meta.get('title', '')} {c.text}") for c, meta in self.entries]
        self.index = BM25Okapi(corpus)

    def retrieve(self, query, k: int):
        from rag.records import passage_from

        scores = self.index.get_scores(self.tokenize(query.text))
        order = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)[:k]
        return [
            passage_from(self.entries[i][0], self.entries[i][1], float(scores[i]), rank)
            for rank, i in enumerate(order)
            if scores[i] > 0
        ]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("dataset", type=Path)
    p.add_argument("--limit", type=int, help="answerable questions (default all)")
    args = p.parse_args(argv)
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        del os.environ[name]

    from ingest import ingest_articles
    from ingest.evaluation import metrics
    from ingest.evaluation.datasets import load_squad, select
    from rag import registry
    from rag.retrieval import (
        DenseRetriever,
        HybridRetriever,
        LexicalRetriever,
        Query,
        embed_question,
    )
    from rag.settings import Settings

    articles, questions = load_squad(args.dataset)
    qs = select([q for q in questions if q.answerable], limit=args.limit)
    home = Path(tempfile.mkdtemp(prefix="rag-lexical-"))
    try:
        settings = Settings(home=home, collection="bench")
        ingest_articles(articles, settings=settings)
        store = registry.open_store(settings)
        embedder = registry.load_embedder(settings)
        dense = DenseRetriever(store)
        retrievers = {
            "bm25 rank_bm25 (before)": RankBM25Retriever(store),
            "bm25 FTS5 (now)": LexicalRetriever(store),
        }
        retrievers["hybrid rank_bm25 (before)"] = HybridRetriever(
            dense, retrievers["bm25 rank_bm25 (before)"], settings.fetch_k
        )
        retrievers["hybrid FTS5 (now)"] = HybridRetriever(
            dense, retrievers["bm25 FTS5 (now)"], settings.fetch_k
        )
        rows = {name: ([], [], []) for name in retrievers}
        for q in qs:  # interleaved: every retriever sees the same machine load
            query = Query(q.question, embed_question(store, embedder, q.question))
            for name, r in retrievers.items():
                started = time.perf_counter()
                passages = r.retrieve(query, DEPTH)
                rows[name][2].append(time.perf_counter() - started)
                rows[name][0].append(metrics.first_rank([p.source for p in passages], q.source))
                rows[name][1].append(
                    next(
                        (
                            i
                            for i, p in enumerate(passages, 1)
                            if metrics.contains_gold(p.chunk.text, q.answers)
                        ),
                        None,
                    )
                )
        cpu = _cpu()
        print(f"\n{len(qs)} questions, {store.count_chunks()} chunks; {cpu}\n")
        print("| retriever | article hit@1 / @5 / @10 | answer passage hit@1 / @5 / @10 | p50 ms |")
        print("| --- | --- | --- | --- |")
        for name, (src, ans, times) in rows.items():
            a = " / ".join(f"{metrics.hit_at_k(src, k):.3f}" for k in (1, 5, 10))
            b = " / ".join(f"{metrics.hit_at_k(ans, k):.3f}" for k in (1, 5, 10))
            print(f"| {name} | {a} | {b} | {1000 * statistics.median(times):.1f} |")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
