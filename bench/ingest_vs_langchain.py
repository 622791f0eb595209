"""Ingest speed side by side: ``rag`` (fp32 and int8 embedders) against a plain LangChain
pipeline, and against the raw speed of each embedder, in one run, interleaved.

    pip install -e '.[bench]'     # langchain-chroma, langchain-huggingface, text splitters
    python bench/ingest_vs_langchain.py ../shared/datasets/squad-v2-dev-a.json [--rounds 3]

- raw: the embedder alone on the chunk texts (texts/s), no chunking and no storage;
- rag: ``ingest_articles`` into a fresh data directory (chunking, embedding, Chroma, the
  lexical index, commit markers), models loaded beforehand;
- LangChain: ``RecursiveCharacterTextSplitter(700, 120)`` + ``HuggingFaceEmbeddings`` on the
  same shipped MiniLM (batch 32, normalised) + ``Chroma.from_documents`` (persisted).
Dataset: SQuAD v2.0 dev articles (Rajpurkar, Jia and Liang, 2018; CC BY-SA 4.0).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("dataset", type=Path)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--articles", type=int, help="only the first N articles (default all 8)")
    args = p.parse_args(argv)
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        del os.environ[name]

    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from ingest import ingest_articles
    from ingest.evaluation.datasets import load_squad
    from ingest.indexer import embedding_text, make_chunks
    from rag import registry
    from rag.backends.onnx_int8 import cpu_flags
    from rag.backends.sentence_transformers import model_path
    from rag.settings import Settings

    articles, _ = load_squad(args.dataset)
    articles = articles[: args.articles] if args.articles else articles
    base = Settings()
    texts = [embedding_text(a, c) for a in articles for c in make_chunks(a, 700, 120)]
    embedders = {
        "fp32": registry.load_embedder(base.with_overrides(embedder="sentence-transformers")),
        "int8": registry.load_embedder(base.with_overrides(embedder="onnx-int8")),
    }
    for e in embedders.values():
        e.embed_documents(texts[:8])  # load (and quantise once)
    lc_embed = HuggingFaceEmbeddings(
        model_name=str(model_path(base)),
        model_kwargs={"device": "cpu", "local_files_only": True},
        encode_kwargs={"batch_size": 32, "normalize_embeddings": True},
    )
    lc_embed.embed_documents(texts[:8])
    docs = [Document(a.text, metadata={"source": a.source, "title": a.title}) for a in articles]
    splitter = RecursiveCharacterTextSplitter(chunk_size=700, chunk_overlap=120)

    results: dict[str, list[float]] = {}

    def record(name, n, seconds):
        results.setdefault(name, []).append(n / seconds)

    for round_ in range(args.rounds):
        for name, e in embedders.items():
            t = time.perf_counter()
            e.embed_documents(texts)
            record(f"raw {name} (texts/s)", len(texts), time.perf_counter() - t)
        t = time.perf_counter()
        lc_embed.embed_documents(texts)
        record("raw LangChain HuggingFaceEmbeddings (texts/s)", len(texts), time.perf_counter() - t)
        for name in embedders:
            home = Path(tempfile.mkdtemp(prefix="rag-ingest-"))
            try:
                settings = base.with_overrides(home=home, collection=f"ingest-{round_}")
                t = time.perf_counter()
                report = ingest_articles(articles, settings=settings, embedder=embedders[name])
                record(
                    f"rag ingest {name} (chunks/s)", report.n_chunks_added, time.perf_counter() - t
                )
            finally:
                shutil.rmtree(home, ignore_errors=True)
        home = Path(tempfile.mkdtemp(prefix="lc-ingest-"))
        try:
            t = time.perf_counter()
            chunks = splitter.split_documents(docs)
            Chroma.from_documents(
                chunks, lc_embed, persist_directory=str(home), collection_name=f"langchain-{round_}"
            )
            record("LangChain pipeline (chunks/s)", len(chunks), time.perf_counter() - t)
        finally:
            shutil.rmtree(home, ignore_errors=True)
        print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)

    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    flags = " ".join(f for f in ("avx2", "avx512f", "avx512_vnni", "amx_int8") if f in cpu_flags())
    print(
        f"\n{len(articles)} articles, {len(texts)} chunks; {cpu}, {os.cpu_count()} cores "
        f"({flags}); median of {args.rounds} interleaved rounds (min–max); "
        f"load avg {os.getloadavg()[0]:.1f}\n"
    )
    print("| measure | median | min – max |")
    print("| --- | --- | --- |")
    for name, values in results.items():
        print(
            f"| {name} | {statistics.median(values):.1f} | {min(values):.1f} – {max(values):.1f} |"
        )
    med = {k: statistics.median(v) for k, v in results.items()}
    lc = med["LangChain pipeline (chunks/s)"]
    for name in embedders:
        e2e = med[f"rag ingest {name} (chunks/s)"]
        raw = med[f"raw {name} (texts/s)"]
        print(
            f"| rag {name}: end to end / raw embedder | {e2e / raw:.2f} | |\n"
            f"| rag {name} / LangChain pipeline | {e2e / lc:.2f} | |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
