"""Reliability figures: kills survived, hostile files, answers from uncommitted articles,
cross-process visibility, writers that waited, what the commit check costs per question,
the extraction budget per hostile file, damaged index files, and short-article throughput.

    python bench/reliability.py [--no-write] [--only NAME ...]

Prints a Markdown table and appends it, with the machine and commit, to bench/RESULTS.md
(section "Reliability"). Each measure is a function returning rows ``(measure, value,
target)``; add yours to ``MEASURES``. Uses the test-only hash embedder in subprocesses
(``tests/reliability/hashcli.py``): these are correctness figures, not model timings.
About 2-4 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
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


def measure_extraction_budget(tmp: Path) -> list[Row]:
    """Each hostile file through a real ``rag ingest`` (with a good file after it): how long
    until it was refused, and its one line. The budget is RAG_MAX_EXTRACT_S=5 here."""
    from tests.reliability.hostile import GOOD_TEXT, pdf_bomb, slow_pdf, xobject_bomb
    from tests.reliability.test_extraction_budget import slow_html

    folder = tmp / "files"
    folder.mkdir()
    cases = {
        "xobject-bomb.pdf": (xobject_bomb, "the issue's Form-XObject bomb (20 pages, 19 KB)"),
        "limit-bomb.pdf": (
            lambda p: pdf_bomb(p, repeats=6_000_000),
            "one page inflating past pypdf's 75 MB limit",
        ),
        "slow.pdf": (lambda p: slow_pdf(p, pages=60), "60 pages of 1.8 MB of operators each"),
        "slow.html": (slow_html, "300,000 nested paragraphs (10 MB)"),
    }
    rows: list[Row] = []
    for name, (make, what) in cases.items():
        case = folder / name.replace(".", "-")
        case.mkdir()
        make(case / name)
        (case / "zz-good.txt").write_text(GOOD_TEXT)
        started = time.perf_counter()
        run = helpers.rag(
            "ingest",
            case.name,
            home=tmp / f"h-{name}",
            cwd=folder,
            RAG_MAX_EXTRACT_S=5,
            timeout=600,
        )
        seconds = time.perf_counter() - started
        line = next((x for x in run.stderr.splitlines() if x.startswith("failed:")), "(none)")
        good = "added: " in run.stdout and "zz-good.txt" in run.stdout
        rows.append(
            (
                f"extraction budget: {name} ({what}); whole `rag ingest`, 5 s budget",
                f"{seconds:.1f} s; good file after it {'ingested' if good else 'NOT ingested'}; "
                f"`{line.split(': ', 2)[-1][:90]}`",
                "refused in one line, ≤ budget + start-up",
            )
        )
    big = folder / "memory"
    big.mkdir()
    (big / "big.txt").write_text(("The river rose. " * 60 + "\n\n") * 18_000)
    run = helpers.rag(
        "ingest",
        "memory",
        home=tmp / "h-mem",
        cwd=folder,
        RAG_MAX_EXTRACT_MB=100,
        RAG_MAX_ARTICLE_CHARS=50_000_000,
    )
    line = next((x for x in run.stderr.splitlines() if x.startswith("failed:")), "(none)")
    rows.append(
        (
            "extraction memory: 17 MB text file, RAG_MAX_EXTRACT_MB=100",
            f"`{line.split(': ', 2)[-1][:90]}`",
            "refused in one line",
        )
    )
    return rows


def measure_corruption(tmp: Path) -> list[Row]:
    """Each index file damaged four ways: does every command say so in one line naming the
    file, and does the repair (lexical) or a restore (store) bring back the same index?"""
    from tests.reliability.test_damage import corrupt

    articles = _corpus(tmp / "corpus")
    (articles / "rye.md").write_text("# Bakery\n\nThe bakery bakes four hundred rye loaves.")
    base = tmp / "base"
    helpers.rag("ingest", str(articles), home=base)
    helpers.rag("backup", str(tmp / "backup"), home=base)
    clean = helpers.snapshot(Settings(home=base))
    rows: list[Row] = []
    for which, target in (
        ("store", "chroma/chroma.sqlite3"),
        ("lexical", "lexical/articles.sqlite"),
    ):
        for how in ("truncate", "header", "pages", "text"):
            home = tmp / f"{which}-{how}"
            shutil.copytree(base, home)
            path = (home / target).resolve()
            corrupt(path, how)
            lines = errors = 0
            new = tmp / f"new-{which}-{how}.md"  # a new article: the ingest writes
            new.write_text("# Kiln\n\nThe kiln at Settle fired bricks.")
            for args in (["status"], ["ask", "How many rye loaves?"], ["ingest", str(new)]):
                run = helpers.rag(*args, home=home)
                ours = [x for x in run.stderr.splitlines() if x.startswith("rag: error:")]
                errors += run.returncode != 0
                lines += (
                    run.returncode != 0
                    and len(ours) == 1
                    and str(path) in ours[0]
                    and ("Traceback" not in run.stderr)
                )
            if which == "lexical":
                fix = helpers.rag("status", "--repair", home=home)
                fixed = fix.returncode == 0 and "rebuilt the lexical index" in fix.stdout
            else:
                fix = helpers.rag("restore", str(tmp / "backup"), home=home)
                fixed = fix.returncode == 0 and not helpers.diff(
                    helpers.snapshot(Settings(home=home)), clean
                )
            rows.append(
                (
                    f"damaged {which} ({target.split('/')[-1]}), {how}: commands failing / "
                    "of them one line naming the file / "
                    + ("repaired" if which == "lexical" else "restored identical"),
                    f"{errors} of 3 / {lines} / {'yes' if fixed else 'NO'}",
                    "one line each / yes",
                )
            )
    return rows


def measure_short_articles(tmp: Path) -> list[Row]:
    """Short-article throughput, rag against a plain LangChain pipeline on one JSONL file
    (bench/short_articles.py has the full version)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import short_articles as bench

    try:
        from langchain_huggingface import HuggingFaceEmbeddings
    except ModuleNotFoundError as exc:
        needs = f"not measured: the LangChain side needs {exc.name} (pip install -e '.[bench]')"
        return [("short-article throughput: rag / plain LangChain", needs, "rag ≥ 300")]

    from rag import registry
    from rag.backends.sentence_transformers import model_path

    n = 5000
    feed = bench.write_feed(tmp / "feed.jsonl", n)
    base = Settings()
    embedder = registry.load_embedder(base)
    embedder.warm_up()
    lc = HuggingFaceEmbeddings(
        model_name=str(model_path(base)),
        model_kwargs={"device": "cpu", "local_files_only": True},
        encode_kwargs={"batch_size": 32, "normalize_embeddings": True},
    )
    lc.embed_documents(["warm up"])
    ours, _ = bench.run_rag(feed, n, embedder, base)
    theirs, _ = bench.run_langchain(feed, n, lc)
    return [
        (
            f"short-article throughput, {n:,} one-sentence articles: rag / plain LangChain "
            "(articles/s)",
            f"{n / ours:.0f} / {n / theirs:.0f}",
            "rag ≥ 300",
        )
    ]


MEASURES: list[Callable[[Path], list[Row]]] = [
    measure_kills,
    measure_hostile,
    measure_ghost_answers,
    measure_visibility,
    measure_writers,
    measure_commit_check,
    measure_extraction_budget,
    measure_corruption,
    measure_short_articles,
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
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="only these measures (e.g. corruption)"
    )
    args = parser.parse_args()
    rows: list[Row] = []
    started = time.perf_counter()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        chosen = [
            m for m in MEASURES if not args.only or m.__name__.removeprefix("measure_") in args.only
        ]
        for measure in chosen:
            t = time.perf_counter()
            folder = Path(tmp) / measure.__name__
            folder.mkdir()
            rows.extend(measure(folder))
            print(f"{measure.__name__}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    sys.path.insert(0, str(ROOT / "bench"))
    from short_articles import machine

    cpu = machine()
    header = (
        f"\n## Reliability (bench/reliability.py)\n\n"
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; code: git {_git()}\n"
        f"- Machine: {cpu}; load average {load:.2f} at the start "
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
