"""Short-article throughput: a JSONL archive of one-sentence articles (a news feed's shape),
ingested by ``rag`` and by a plain LangChain pipeline, on the same file, interleaved.

    python bench/short_articles.py [--articles 20000] [--rounds 2] [--cli] [--before DIR]
                                   [--write]

- rag: ``ingest_paths`` on the file (text extraction in its child process, planning,
  embedding with the default embedder, Chroma, the lexical index, commit records), the
  embedder loaded beforehand;
- LangChain: the JSONL read into ``Document``s, ``RecursiveCharacterTextSplitter(700, 120)``,
  ``HuggingFaceEmbeddings`` on the same shipped MiniLM (batch 32, normalised),
  ``Chroma.from_documents`` (persisted);
- ``--cli``: also ``rag ingest FILE`` as a user runs it (a fresh process: model load and
  printing included; articles/s also given without the model load);
- ``--before DIR``: also ``rag ingest`` from an older checkout in DIR (its ``rag`` package,
  ``rag.cli`` or ``rag.apps.cli``), run with this environment, for a before/after.

The articles are generated (deterministic: seed 0): "The Bergen council approved a budget of
212 million euros on 4 May 2021." with a title, URL and date each. Prints a Markdown table;
``--write`` appends it to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PLACES = "Leeds Lyon Porto Kraków Bergen Ghent Turin Cork Malmö Brno Split Graz Aarhus".split()
SUBJECTS = "council mayor union hospital museum airline bakery court school regulator".split()
VERBS = "approved announced opened cancelled delayed expanded funded closed sold".split()
OBJECTS = [
    "a new bridge",
    "plans for a tram line",
    "a budget of {n} million euros",
    "{n} new jobs",
    "a rye bread festival",
    "a study of river floods",
    "the winter timetable",
    "a solar farm",
]
MONTHS = "March April May June July".split()


def write_feed(path: Path, n: int, seed: int = 0) -> Path:
    """``n`` one-sentence articles as JSONL (title, url, date, text)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            place, subject = rng.choice(PLACES), rng.choice(SUBJECTS)
            thing = rng.choice(OBJECTS).format(n=rng.randint(2, 900))
            day = f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.randint(2015, 2025)}"
            text = f"The {place} {subject} {rng.choice(VERBS)} {thing} on {day}."
            record = {
                "title": f"{place} {subject} news {i}",
                "url": f"https://news.example.org/{i}",
                "date": f"20{rng.randint(15, 25)}-{rng.randint(1, 12):02}-{rng.randint(1, 28):02}",
                "text": text,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    shown = " ".join(f for f in ("avx2", "avx512f", "avx512_vnni", "amx_int8") if f in flags)
    return f"{cpu}, {os.cpu_count()} cores ({shown})"


def cpu_seconds() -> float:
    """CPU time of this process (all its threads) and of its children that have ended."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_rag(feed: Path, n: int, embedder, base) -> tuple[float, float]:
    from ingest.indexer import ingest_paths

    home = Path(tempfile.mkdtemp(prefix="rag-short-"))
    try:
        started, cpu = time.perf_counter(), cpu_seconds()
        report = ingest_paths([feed], settings=base.with_overrides(home=home), embedder=embedder)
        seconds = time.perf_counter() - started
        assert report.count("added") == n, report.summary()
        return seconds, cpu_seconds() - cpu
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run_langchain(feed: Path, n: int, embeddings) -> tuple[float, float]:
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    home = Path(tempfile.mkdtemp(prefix="lc-short-"))
    try:
        started, cpu = time.perf_counter(), cpu_seconds()
        docs = []
        with feed.open(encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                meta = {k: record[k] for k in ("title", "url", "date")}
                docs.append(Document(record["text"], metadata=meta))
        splitter = RecursiveCharacterTextSplitter(chunk_size=700, chunk_overlap=120)
        chunks = splitter.split_documents(docs)
        Chroma.from_documents(chunks, embeddings, persist_directory=str(home))
        seconds = time.perf_counter() - started
        assert len(chunks) == n
        return seconds, cpu_seconds() - cpu
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run_cli(feed: Path, n: int, module: str, pythonpath: str) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, seconds of it loading the embedder, from its summary)."""
    home = Path(tempfile.mkdtemp(prefix="rag-cli-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(PYTHONPATH=pythonpath, RAG_HOME=str(home))
    try:
        started, cpu = time.perf_counter(), cpu_seconds()
        run = subprocess.run(
            [sys.executable, "-m", module, "ingest", str(feed)],
            env=env,
            cwd=pythonpath,
            capture_output=True,
            text=True,
        )
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr
        assert f"{n:,} articles ({n:,} added" in summary, summary[-500:]
        loading = 0.0
        if "s of it loading the embedder" in summary:
            loading = float(summary.rsplit(", ", 1)[1].split(" s of it")[0])
        return seconds, cpu, loading
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--articles", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--cli", action="store_true", help="also time `rag ingest` as a user runs it")
    p.add_argument("--before", type=Path, help="an older checkout to time `rag ingest` from")
    p.add_argument("--write", action="store_true", help="append the table to bench/RESULTS.md")
    args = p.parse_args(argv)
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        del os.environ[name]

    try:
        from langchain_huggingface import HuggingFaceEmbeddings
    except ModuleNotFoundError as exc:
        sys.exit(f"short_articles: the LangChain side needs {exc.name}: pip install -e '.[bench]'")

    from rag import registry
    from rag.backends.sentence_transformers import model_path
    from rag.settings import Settings

    base = Settings()
    work = Path(tempfile.mkdtemp(prefix="short-feed-"))
    load_start = os.getloadavg()[0]
    try:
        feed = write_feed(work / "feed.jsonl", args.articles)
        embedder = registry.load_embedder(base)
        embedder.warm_up()
        embedder.embed_documents(["warm up"])
        lc = HuggingFaceEmbeddings(
            model_name=str(model_path(base)),
            model_kwargs={"device": "cpu", "local_files_only": True},
            encode_kwargs={"batch_size": 32, "normalize_embeddings": True},
        )
        lc.embed_documents(["warm up"])
        times: dict[str, list[tuple[float, float]]] = {}
        for round_ in range(args.rounds):
            times.setdefault("rag", []).append(run_rag(feed, args.articles, embedder, base))
            times.setdefault("LangChain", []).append(run_langchain(feed, args.articles, lc))
            print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
        kind = registry.describe("embedder", base).split(" (")[-1]
        rows = [
            (f"rag ingest_paths ({kind}", times["rag"]),
            ("plain LangChain pipeline (fp32 MiniLM, batch 32)", times["LangChain"]),
        ]
        notes = []
        if args.cli:
            seconds, cpu, loading = run_cli(feed, args.articles, "rag.cli", str(ROOT))
            rows.append(("`rag ingest FILE` (whole command)", [(seconds, cpu)]))
        if args.before:
            before = args.before.resolve()
            module = "rag.cli" if (before / "rag" / "cli.py").exists() else "rag.apps.cli"
            seconds, cpu, _ = run_cli(feed, args.articles, module, str(before))
            rows.append((f"`rag ingest FILE`, older checkout ({before.name})", [(seconds, cpu)]))
            notes.append(f"older checkout: {before}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n = args.articles
    med = {name: statistics.median(w for w, _ in values) for name, values in rows}
    lines = [
        f"{n:,} one-sentence articles in one JSONL file; {machine()}; load average "
        f"{load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; median of "
        f"{args.rounds} interleaved rounds (min–max); CPU: seconds of CPU time (all threads "
        "and child processes) per 1,000 articles",
        "",
        "| pipeline | seconds | articles/s | min – max | CPU s / 1,000 articles |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, values in rows:
        rates = [n / w for w, _ in values]
        cpu = statistics.median(c for _, c in values) * 1000 / n
        lines.append(
            f"| {name} | {med[name]:.1f} | {n / med[name]:.0f} | "
            f"{min(rates):.0f} – {max(rates):.0f} | {cpu:.2f} |"
        )
    ours, theirs = med[rows[0][0]], med[rows[1][0]]
    lines.append(f"| rag / LangChain (articles/s) | | {theirs / ours:.2f}x | | |")
    table = "\n".join(lines + notes)
    print("\n" + table)
    if args.write:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        with (ROOT / "bench" / "RESULTS.md").open("a") as f:
            f.write(f"\n### Short articles (bench/short_articles.py, {stamp})\n\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
