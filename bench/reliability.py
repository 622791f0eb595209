"""Reliability figures: kills survived, hostile files, answers from uncommitted articles,
cross-process visibility, writers that waited, and what the commit check costs per question.

    python bench/reliability.py [--no-write]

Prints a Markdown table and appends it, with the machine and commit, to bench/RESULTS.md
(section "Reliability"). Each measure is a function returning rows ``(measure, value,
target)``; add yours to ``MEASURES``. Uses the test-only hash embedder in subprocesses
(``tests/reliability/hashcli.py``): these are correctness figures, not model timings.
About 2-4 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.indexer import ingest_paths  # noqa: E402
from rag.backends.chroma import ChromaStore  # noqa: E402
from rag.pipeline import Assistant  # noqa: E402
from rag.settings import Settings  # noqa: E402
from tests.fakes import HashEmbedder, ScriptedLLM  # noqa: E402
from tests.reliability import helpers  # noqa: E402
from tests.reliability.hostile import make_hostile_corpus  # noqa: E402

Row = tuple[str, str, str]
SMALL = {"RAG_CHUNK_SIZE": 200, "RAG_CHUNK_OVERLAP": 40, "RAG_EMBED_BATCH_SIZE": 4}
TOPICS = [
    ("lighthouse", "The Fenwick lighthouse keeper logged storms on the north coast"),
    ("orchard", "The Pellham orchard grafted russet apples onto old rootstock"),
    ("quarry", "The Holloway quarry near Settle produced limestone blocks"),
]


def _small(home: Path) -> Settings:
    return Settings(home=home, chunk_size=200, chunk_overlap=40, embed_batch_size=4)


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, lead in TOPICS:
        text = " ".join(f"{lead} in year {1900 + i * 7}, season {i} says so." for i in range(12))
        (folder / f"{name}.md").write_text(f"# The {name}\n\n{text}\n")
    return folder


def _ingest(home: Path, folder: Path):
    return ingest_paths([folder], settings=_small(home), embedder=HashEmbedder())


def measure_kills(tmp: Path) -> list[Row]:
    folder = _corpus(tmp / "corpus")
    clean = helpers.snapshot(_small(tmp / "clean")) if _ingest(tmp / "clean", folder) else None
    points = [f"ingest:chunks-stored:{n}" for n in range(1, 10)]
    points += [f"ingest:before-commit:{n}" for n in (1, 2, 3)]
    points += [f"ingest:committed:{n}" for n in (1, 2, 3)]
    survived = tried = 0
    for i, point in enumerate(points):
        home = tmp / f"kill{i}"
        run = helpers.rag("ingest", str(folder), home=home, kill_at=point, **SMALL)
        tried += run.returncode == helpers.SIGKILLED
        _ingest(home, folder)
        survived += run.returncode == helpers.SIGKILLED and not helpers.diff(
            helpers.snapshot(_small(home)), clean
        )
    for i, point in enumerate(["delete:record-gone:1", "delete:chunk-batch:1"]):
        home = tmp / f"del{i}"
        _ingest(home, folder)
        run = helpers.rag("delete", str(folder / "orchard.md"), home=home, kill_at=point)
        tried += run.returncode == helpers.SIGKILLED
        _ingest(home, folder)
        survived += run.returncode == helpers.SIGKILLED and not helpers.diff(
            helpers.snapshot(_small(home)), clean
        )
    return [
        (
            f"kills survived / tried (ingest and delete, {len(points) + 2} kill points)",
            f"{survived} / {tried}",
            "all",
        )
    ]


def measure_hostile(tmp: Path) -> list[Row]:
    files = make_hostile_corpus(tmp / "hostile")
    started = time.perf_counter()
    run = helpers.rag("ingest", "hostile", home=tmp / "h", cwd=tmp, timeout=300)
    seconds = time.perf_counter() - started
    out = run.stdout + run.stderr
    crashed = int("Traceback" in out or run.returncode not in (0, 1))
    named = sum(any(f"hostile/{name}" in line for line in out.splitlines()) for name in files)
    return [
        (
            f"hostile files tried / crashed ({named} of {len(files)} named in a line)",
            f"{len(files)} / {crashed}",
            "0 crashed",
        ),
        (
            "hostile corpus ingest, wall time (5 MB line, 16 MB PDF bomb inside)",
            f"{seconds:.1f} s",
            "",
        ),
    ]


def measure_ghost_answers(tmp: Path) -> list[Row]:
    folder = _corpus(tmp / "corpus")
    home = tmp / "ghost"
    helpers.rag("ingest", str(folder), home=home, kill_at="ingest:chunks-stored:4", **SMALL)
    ghost = str(folder / "orchard.md")
    questions = [f"Which orchard grafted russet apples in season {i}?" for i in range(12)]
    questions += [f"What did the Pellham orchard graft in year {1900 + 7 * i}?" for i in range(8)]
    citing = asked = 0
    for retrieval in ("dense", "bm25", "hybrid"):
        settings = _small(home).with_overrides(retrieval=retrieval, min_relevance=-1.0)
        llm = ScriptedLLM(lambda p: " ".join(p.split("Answer:")[0].split()[-6:]))
        assistant = Assistant(settings, embedder=HashEmbedder(), llm=llm)
        for q in questions:
            answer = assistant.answer(q)
            asked += 1
            citing += any(p.source == ghost for p in answer.passages) or any(
                c.source == ghost for c in answer.citations
            )
    return [
        (
            f"answers citing uncommitted articles (n={asked}, after a kill mid-ingest)",
            str(citing),
            "0",
        )
    ]


def measure_visibility(tmp: Path) -> list[Row]:
    delays = []
    for i in range(3):
        home = tmp / f"vis{i}"
        _ingest(home, _corpus(tmp / f"vis-corpus{i}"))
        reader = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability.reader",
                "Skerry Island keeper",
                "Skerry",
                "60",
            ],
            env=helpers.cli_env(home),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            assert reader.stdout.readline().strip() == "READY"
            new = tmp / f"new{i}"
            new.mkdir()
            (new / "skerry.md").write_text("# Skerry Island\n\nThe Skerry Island keeper wrote.\n")
            helpers.rag("ingest", str(new), home=home)
            committed = (home / "index-generation").stat().st_mtime  # written at the commit
            line = reader.stdout.readline().split()
            delays.append(float(line[1]) - committed if line and line[0] == "FOUND" else 60.0)
        finally:
            helpers.stop(reader)
    return [
        (
            "cross-process visibility delay, embedded (median of 3; reader polls every 0.1 s)",
            f"{statistics.median(delays):.2f} s (max {max(delays):.2f})",
            "≤ a few s",
        )
    ]


def measure_writers(tmp: Path) -> list[Row]:
    folder = tmp / "w"
    folder.mkdir()
    for i in range(8):
        (folder / f"a{i}.md").write_text(f"# Mill {i}\n\nThe mill {i} ground oats by the river.")
    home = tmp / "wh"
    env = {"HASH_EMBED_DELAY": 0.5, "RAG_EMBED_BATCH_SIZE": 1}
    first = helpers.spawn("ingest", str(folder), home=home, **env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        (home / "write.lock").exists() and (home / "write.lock").read_text().strip()
    ):
        time.sleep(0.05)
    second = helpers.rag("ingest", str(folder), home=home)
    out1, _ = first.communicate(timeout=120)
    waited = "waiting for another writer" in second.stderr
    twice = "8 added" in out1 and "8 added" in second.stdout
    return [
        (
            "two writers at once: second waited / both embedded everything",
            f"{'yes' if waited else 'no'} / {'yes' if twice else 'no'}",
            "yes / no",
        )
    ]


def measure_commit_check(tmp: Path) -> list[Row]:
    """Per-question cost of answering only from committed chunks, at 10,000 chunks: the
    hit filter (query + one lookup of the hits' article records) against a plain query and
    against the alternative, a ``committed`` flag filtered inside Chroma's query."""
    store = ChromaStore(Settings(home=tmp / "cost"))
    emb = HashEmbedder(384)
    from rag.records import Article

    n_articles, per = 100, 100
    for a in range(n_articles):
        article = Article(source=f"s{a}", title=f"T{a}", text=f"article {a}")
        from rag.records import Chunk

        chunks = [
            Chunk(f"c{a}-{j}", article.id, f"word{a} w{j} text", j, j + 1, j) for j in range(per)
        ]
        store.upsert_chunks(article, chunks, emb.embed_documents([c.text for c in chunks]))
        store.chunks.update(
            ids=[c.id for c in chunks],
            metadatas=[
                {
                    "committed": True,
                    "article_id": article.id,
                    "article_hash": article.hash,
                    "start": c.start,
                }
                for c in chunks
            ],
        )
        store.put_article(article, per)
    queries = [emb.embed_query(f"word{i} w{i % per}") for i in range(60)]

    def timed(fn) -> float:
        times = []
        for q in queries:
            t = time.perf_counter()
            fn(q)
            times.append(time.perf_counter() - t)
        return statistics.median(times) * 1000

    plain, checked, flagged = [], [], []
    for _ in range(3):  # interleaved
        plain.append(timed(lambda q: store.chunks.query(query_embeddings=[q], n_results=20)))
        checked.append(timed(lambda q: store.dense_search(q, 20)))
        flagged.append(
            timed(
                lambda q: store.chunks.query(
                    query_embeddings=[q], n_results=20, where={"committed": True}
                )
            )
        )
    m = statistics.median
    return [
        (
            "commit check per question, 10k chunks, k=20: plain query / hit filter / "
            "committed flag (ms, median)",
            f"{m(plain):.1f} / {m(checked):.1f} / {m(flagged):.1f}",
            "",
        )
    ]


MEASURES: list[Callable[[Path], list[Row]]] = [
    measure_kills,
    measure_hostile,
    measure_ghost_answers,
    measure_visibility,
    measure_writers,
    measure_commit_check,
]


def _git() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    rows: list[Row] = []
    started = time.perf_counter()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for measure in MEASURES:
            t = time.perf_counter()
            folder = Path(tmp) / measure.__name__
            folder.mkdir()
            rows.extend(measure(folder))
            print(f"{measure.__name__}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    cpu = (
        "Intel Xeon (Sapphire Rapids class)"
        if "GenuineIntel" in Path("/proc/cpuinfo").read_text()
        else platform.processor()
    )
    header = (
        f"\n## Reliability (bench/reliability.py)\n\n"
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; code: git {_git()}\n"
        f"- Machine: {os.cpu_count()} cores, {cpu}; load average {load:.2f} at the start "
        f"(shared machine); took {time.perf_counter() - started:.0f} s\n\n"
        "| measure | value | target |\n| --- | --- | --- |\n"
    )
    table = header + "".join(f"| {m} | {v} | {t} |\n" for m, v, t in rows)
    print(table)
    if not args.no_write:
        with (ROOT / "bench" / "RESULTS.md").open("a") as f:
            f.write(table)


if __name__ == "__main__":
    main()
