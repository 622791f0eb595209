"""Retrieval latency with the index in a local directory against a Chroma server on the same
machine (``chroma run`` started here, on a free loopback port, stopped after).

Both hold the same articles, embedded once with the default embedder; each round asks the
same question of both, alternating which goes first, so machine load hits both alike.
Prints p50/p95 of one hybrid retrieval (dense via the store + BM25 revision check), and of
one check of the recorded embedder (what a fresh process pays once).

    python bench/store_latency.py [DATASET.json] [--rounds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from ingest import ingest_articles, ingest_paths  # noqa: E402
from rag import registry  # noqa: E402
from rag.backends.chroma import ChromaStore  # noqa: E402
from rag.pipeline import Assistant  # noqa: E402
from rag.records import Article  # noqa: E402
from rag.settings import Settings  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load(dataset: Path | None) -> tuple[list[Article], list[str]]:
    if dataset is None:
        lines = (ROOT / "corpus/questions.jsonl").read_text().splitlines()
        questions = [json.loads(line)["question"] for line in lines if line.strip()]
        return [], questions
    data = json.loads(dataset.read_text())
    articles, questions = [], []
    for entry in data["data"]:
        text = "\n\n".join(p["context"] for p in entry["paragraphs"])
        articles.append(Article(source=f"squad:{entry['title']}", title=entry["title"], text=text))
        questions += [qa["question"] for p in entry["paragraphs"] for qa in p["qas"]]
    return articles, questions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", nargs="?", type=Path)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    articles, questions = load(args.dataset)
    tmp = Path(tempfile.mkdtemp(prefix="store-bench-"))
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    server = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit("chroma run did not start in 60 s") from None
                time.sleep(0.2)
        local = Settings(home=tmp / "home")
        remote = local.with_overrides(chroma_url=f"http://127.0.0.1:{port}")
        for settings in (local, remote):
            if articles:
                report = ingest_articles(articles, settings=settings)
            else:
                report = ingest_paths(ROOT / "corpus", settings=settings)
            assert report.ok, report.failed
        embedder = registry.load_embedder(local)
        assistants = {name: Assistant(s) for name, s in (("local", local), ("server", remote))}
        for a in assistants.values():
            a.retrieve(questions[0])  # warm: model loaded, BM25 built
        times: dict[str, list[float]] = {"local": [], "server": []}
        checks: dict[str, list[float]] = {"local": [], "server": []}
        for i in range(args.rounds):
            question = questions[i % len(questions)]
            order = ["local", "server"] if i % 2 == 0 else ["server", "local"]
            for name in order:
                started = time.perf_counter()
                assistants[name].retrieve(question)
                times[name].append(time.perf_counter() - started)
                store = ChromaStore(local if name == "local" else remote)
                store.count_chunks()  # opens the collection: not part of the check
                started = time.perf_counter()
                store.check_embedder(embedder)
                checks[name].append(time.perf_counter() - started)
        load1 = os.getloadavg()[0]
        n_chunks = ChromaStore(local).count_chunks()
        print(
            f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; ", end=""
        )
        print(f"load average {load1:.2f}; {n_chunks} chunks; {args.rounds} rounds, interleaved")
        print("| index | hybrid retrieval p50 / p95 (ms) | embedder check p50 / p95 (ms) |")
        print("| --- | --- | --- |")
        for name in ("local", "server"):
            t, c = times[name], checks[name]
            print(
                f"| {name} | {statistics.median(t) * 1e3:.1f} / {percentile(t, 0.95) * 1e3:.1f} "
                f"| {statistics.median(c) * 1e3:.1f} / {percentile(c, 0.95) * 1e3:.1f} |"
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
