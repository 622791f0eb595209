"""Archive-scale benchmark: 10k, 100k and 500k chunks on one machine.

    python bench/scale.py ../shared/datasets/squad-v2-dev-a.json [--sizes 10000 100000 500000]
        [--questions 200] [--answers 20] [--keep] [--build-only] [--out bench/RESULTS.md]

For each size it builds an archive in ``/tmp/rag-scale/<size>`` (``--keep`` reuses it) and
reports: build and real-ingest throughput (40 new articles), hybrid retrieval p50/p95,
answer p50/p95, UI start-up time and RSS, and how long a running process takes to see a
newly ingested article. The table goes into ``--out`` under "Archive scale (bench/scale.py)".

The archive's text is real: the SQuAD v2.0 dev articles (Rajpurkar, Jia and Liang, 2018;
CC BY-SA 4.0), recombined into news-like articles (paragraphs drawn from one SQuAD
article, sentences shuffled, a dateline, a site, an author and a date), so chunks differ.
**Vectors are stored, not computed**: every SQuAD paragraph is embedded once with the real
MiniLM, and a chunk's vector is the normalised mean of its paragraphs' vectors plus small
noise; chunks are written through the store in batches (Chroma + the lexical index).
Questions, the real-ingest sample and the new article do use the real embedder and model.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BASE = Path("/tmp/rag-scale")
SECTION = "## Archive scale (bench/scale.py)"
SITES = ["harbour-news.com", "citydaily.org", "example-times.net", "valleypost.com", "wire.example"]
AUTHORS = ["Ana Ruiz", "Ben Ola", "Chen Wei", "Dara Nolan", "Eli Sato", "Femi Ade"]
N_INGEST = 40  # articles ingested for real at each size
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")

_READER = """
import sys, time
from rag import api
from rag.settings import Settings
settings = Settings(home=sys.argv[1], collection="archive")
assistant = api.get_assistant(settings)
assistant.retrieve("warm up the models and indexes")
print("ready", flush=True)
source, question = sys.stdin.readline().rstrip("\\n").split("\\t")
started = time.perf_counter()
while time.perf_counter() - started < 60:
    if any(p.source == source for p in assistant.retrieve(question, 4)):
        print(f"seen {time.perf_counter() - started:.3f}", flush=True)
        break
    time.sleep(0.1)
else:
    print("never", flush=True)
sys.stdin.readline()  # stay alive while the parent reads this process's memory
"""


def cpu_line() -> str:
    name, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    shown = [f for f in ("avx2", "avx512f", "avx512_vnni", "amx_int8") if f in flags]
    return f"{name}, {os.cpu_count()} cores ({' '.join(shown)})"


def rss_mb(pid: int) -> float:
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    out = [int(k) for k in kids]
    for k in list(out):
        out += _children(k)
    return out


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


# ----- building the archive ------------------------------------------------------------
def paragraphs(dataset: Path) -> list[tuple[int, str]]:
    data = json.loads(dataset.read_text(encoding="utf-8"))
    return [
        (i, p["context"])
        for i, entry in enumerate(data["data"])
        for p in entry["paragraphs"]
        if p.get("context", "").strip()
    ]


def synthetic_articles(paras, seed: int):
    """Endless news-like articles from real paragraphs; yields (Article, paragraph ids)."""
    from rag.records import Article

    rng = random.Random(seed)
    by_topic: dict[int, list[int]] = {}
    for n, (topic, _) in enumerate(paras):
        by_topic.setdefault(topic, []).append(n)
    topics = sorted(by_topic)
    start = date(2015, 1, 1)
    n = 0
    while True:
        topic = rng.choice(topics)
        picked = rng.sample(by_topic[topic], min(len(by_topic[topic]), rng.randint(3, 6)))
        day = start + timedelta(days=rng.randrange(3650))
        site = rng.choice(SITES)
        parts = []
        for k in picked:
            sentences = _SENT.split(paras[k][1])
            rng.shuffle(sentences)
            parts.append(" ".join(sentences))
        text = f"{site.upper()}, {day:%B %d, %Y} (edition {n}) — " + "\n\n".join(parts)
        yield (
            Article(
                source=f"https://{site}/{day:%Y/%m/%d}/story-{n}",
                title=f"{paras[picked[0]][1][:60].rsplit(' ', 1)[0]} ({n})",
                text=text,
                date=day.isoformat(),
                author=rng.choice(AUTHORS),
                url=f"https://{site}/{day:%Y/%m/%d}/story-{n}",
            ),
            picked,
        )
        n += 1


def build(home: Path, size: int, paras, para_vecs, seed: int = 0) -> dict:
    """Write about ``size`` chunks with stored vectors through the store, in batches."""
    import numpy as np

    from ingest.indexer import make_chunks
    from rag.backends.chroma import ChromaStore
    from rag.settings import Settings

    settings = Settings(home=home, collection="archive")
    store = ChromaStore(settings)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    written = waiting = 0
    pending: list = []  # (article, chunks, vectors), as store.upsert_many takes them

    def flush():
        store.upsert_many(pending)  # Chroma and the lexical index
        store.put_articles([(article, len(chunks)) for article, chunks, _ in pending])
        pending.clear()
        return 0

    for article, picked in synthetic_articles(paras, seed):
        chunks = make_chunks(article, settings.chunk_size, settings.chunk_overlap)
        base = para_vecs[picked].mean(axis=0)
        vectors = base + rng.normal(0, 0.02, (len(chunks), base.shape[0]))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        pending.append((article, chunks, vectors.tolist()))
        written += len(chunks)
        waiting += len(chunks)
        if waiting >= 5000:
            waiting = flush()
            print(f"  built {written}/{size} chunks", file=sys.stderr, end="\r")
        if written >= size:
            break
    flush()
    seconds = time.perf_counter() - started
    print(file=sys.stderr)
    return {"chunks": store.count_chunks(), "articles": store.count_articles(), "build_s": seconds}


# ----- measuring -------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ui(home: Path, env: dict) -> tuple[subprocess.Popen, float, int]:
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rag.cli",
            "ui",
            "--port",
            str(port),
            "--home",
            str(home),
            "--collection",
            "archive",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = started + 180
    while time.perf_counter() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read(100)
            return proc, time.perf_counter() - started, port
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("rag ui exited") from None
            time.sleep(0.2)
    raise RuntimeError("rag ui did not start within 180 s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


def measure(home: Path, size: int, questions, n_answers: int, paras, seed: int) -> dict:
    from ingest import ingest_articles
    from rag import api
    from rag.settings import Settings

    settings = Settings(home=home, collection="archive")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out: dict = {}

    # real ingest into the archive (the default embedder, loaded first): chunks/s at this
    # size, opening the store included
    from rag import registry

    registry.load_embedder(settings).embed_query("load the model")
    run_id = time.time_ns()  # new sources and words each run: a kept archive has the old ones
    gen = synthetic_articles(paras, seed + 10_000 + size)
    fresh = [
        dataclasses.replace(a, source=f"{a.source}-run{run_id}", url=None)
        for a, _ in (next(gen) for _ in range(N_INGEST))
    ]
    report = ingest_articles(fresh, settings=settings)
    out["ingest_chunks_per_s"] = report.chunks_per_second

    # hybrid retrieval and answers in this process
    assistant = api.get_assistant(settings)
    assistant.answer(questions[0].question)  # warm: models and indexes loaded
    times = []
    for q in questions:
        t = time.perf_counter()
        assistant.retrieve(q.question)
        times.append(time.perf_counter() - t)
    out["retrieval_p50_ms"] = 1000 * statistics.median(times)
    out["retrieval_p95_ms"] = 1000 * pct(times, 95)
    times = []
    for q in questions[:n_answers]:
        t = time.perf_counter()
        assistant.answer(q.question)
        times.append(time.perf_counter() - t)
    out["answer_p50_s"] = statistics.median(times)
    out["answer_p95_s"] = pct(times, 95)

    # the UI in its own process: start-up (models warmed, one question answered) and RSS
    ui, out["ui_start_s"], _port = start_ui(home, env)
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(home)],
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        if reader.stdout.readline().strip() != "ready":
            raise RuntimeError("reader process failed")
        # a new article, ingested here; the reader (another running process) looks for it
        word = f"quokkaphone{run_id}"
        from rag.records import Article

        new = Article(
            source=f"https://wire.example/new-{word}",
            title=f"The {word} is unveiled",
            text=f"The {word} was unveiled in Lisbon on Tuesday. The {word} costs 40 euros "
            "and plays music through a marsupial-shaped speaker.",
            date="2026-01-01",
        )
        ingest_articles([new], settings=settings)
        reader.stdin.write(f"{new.source}\tWhat does the {word} cost?\n")
        reader.stdin.flush()
        line = reader.stdout.readline().split()
        out["visible_s"] = float(line[1]) if line and line[0] == "seen" else None
        out["ui_rss_mb"] = rss_mb(ui.pid)
        out["reader_rss_mb"] = rss_mb(reader.pid)  # two clients: the replaced one not yet stopped
        time.sleep(15)  # the replaced client is stopped 10 s after the swap
        out["reader_rss_after_mb"] = rss_mb(reader.pid)
        reader.stdin.write("\n")
        reader.stdin.flush()
    finally:
        stop(ui)
        stop(reader)
    return out


def write_section(path: Path, text: str) -> None:
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if SECTION in old:
        head, _, rest = old.partition(SECTION)
        nxt = rest.find("\n## ")
        old = head + (rest[nxt + 1 :] if nxt >= 0 else "")
    path.write_text(old.rstrip("\n") + "\n\n" + text, encoding="utf-8")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("dataset", type=Path)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 500_000])
    p.add_argument("--questions", type=int, default=200, help="questions timed for retrieval")
    p.add_argument("--answers", type=int, default=20, help="questions answered end to end")
    p.add_argument("--keep", action="store_true", help="keep (and reuse) /tmp/rag-scale/<size>")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    p.add_argument("--build-only", action="store_true", help="build (and keep) the archives only")
    args = p.parse_args(argv)
    args.keep = args.keep or args.build_only
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        del os.environ[name]

    import numpy as np

    from rag import registry
    from rag.settings import Settings

    paras = paragraphs(args.dataset)
    embedder = registry.load_embedder(Settings())
    para_vecs = np.array(embedder.embed_documents([t for _, t in paras]))

    rows = []
    for size in args.sizes:
        home = BASE / str(size)
        built = None
        if not (args.keep and (home / "built.json").exists()):
            shutil.rmtree(home, ignore_errors=True)
            print(f"building {size} chunks in {home}", file=sys.stderr)
            built = build(home, size, paras, para_vecs)
            (home / "built.json").write_text(json.dumps(built))
        built = built or json.loads((home / "built.json").read_text())
        if args.build_only:
            print(json.dumps({"size": size, **built}), flush=True)
            continue
        # measure in a child process: RSS and caches of one size do not leak into the next
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--measure",
                str(home),
                str(size),
                str(args.dataset),
                str(args.questions),
                str(args.answers),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=3600,
        )
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"measuring {size} failed")
        row = {"size": size, **built, **json.loads(done.stdout.strip().splitlines()[-1])}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)

    if args.build_only:
        return 0
    table = render(rows, args)
    print(table)
    write_section(args.out, table)
    return 0


def render(rows, args) -> str:
    def f(v, d=1):
        return "—" if v is None else f"{v:,.{d}f}"

    lines = [
        SECTION,
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}; CPU: {cpu_line()}; load average "
        f"{os.getloadavg()[0]:.1f} at the end.",
        f"- Command: `python bench/scale.py {os.path.relpath(args.dataset, ROOT)} --sizes "
        f"{' '.join(map(str, args.sizes))}{' --keep' if args.keep else ''}`; "
        "text from SQuAD v2.0 dev (CC BY-SA 4.0), "
        "recombined; **archive vectors stored, not computed** (see the script's docstring); "
        f"{args.questions} questions timed for retrieval, {args.answers} answered.",
        "- build = chunks written through the store with stored vectors (Chroma + lexical "
        f"index); ingest = {N_INGEST} new articles with the default embedder (loaded first), "
        "end to end, opening the store included; visible = from "
        "the end of an ingest in this process until another running process retrieves the "
        "article; UI start = `rag ui` until it serves (models loaded, one question answered); "
        "reader = that other process (models, indexes): to see the article it opens a new "
        "Chroma client, and stops the replaced one 10 s later.",
        "",
        "| chunks | articles | build chunks/s | ingest chunks/s | hybrid p50 / p95 ms | "
        "answer p50 / p95 s | UI start s | UI RSS MB | visible s | reader RSS MB at / 15 s "
        "after the swap |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['chunks']:,} | {r['articles']:,} | {f(r['chunks'] / r['build_s'], 0)} | "
            f"{f(r['ingest_chunks_per_s'])} | {f(r['retrieval_p50_ms'])} / "
            f"{f(r['retrieval_p95_ms'])} | {f(r['answer_p50_s'], 2)} / {f(r['answer_p95_s'], 2)} | "
            f"{f(r['ui_start_s'])} | {f(r['ui_rss_mb'], 0)} | {f(r['visible_s'], 2)} | "
            f"{f(r['reader_rss_mb'], 0)} / {f(r.get('reader_rss_after_mb'), 0)} |"
        )
    lines.append(
        "\nTargets at 500k: hybrid p50 ≤ 50 ms, p95 ≤ 150 ms; UI RSS ≤ 2,500 MB; start-up ≤ 15 s; "
        "visible ≤ 5 s."
    )
    return "\n".join(lines) + "\n"


def _measure_main(argv) -> int:
    home, size, dataset, n_q, n_a = (
        Path(argv[0]),
        int(argv[1]),
        Path(argv[2]),
        int(argv[3]),
        int(argv[4]),
    )
    from ingest.evaluation.datasets import load_squad, select

    _, qs = load_squad(dataset)
    questions = select([q for q in qs if q.answerable], sample=n_q, seed=0)
    out = measure(home, size, questions, n_a, paragraphs(dataset), 0)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        sys.exit(_measure_main(sys.argv[2:]))
    sys.exit(main())
