"""A damaged index says so in one line naming the file and what to do, through the real
``rag`` command (status, ask, ingest) and the UI; the lexical index is rebuilt by
``rag status --repair``; the store comes back with ``rag restore``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rag.backends.chroma import ChromaStore
from rag.settings import Settings
from tests.reliability.helpers import rag, snapshot

NEEDLE = b"rye loaves"
QUESTION = "How many rye loaves does the Marigold Bakery bake?"
CHROMA_REMEDY = "restore a backup with `rag restore BACKUP`, or move {dir} away and ingest"
LEXICAL_REMEDY = "rebuild it from the store with `rag status --repair`"


def corrupt(path: Path, how: str) -> None:
    """Damage a SQLite file as a disk, a crash or a careless hand would."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        if how == "truncate":
            f.truncate(size // 2)
        elif how == "header":
            f.write(b"\x91" * 100)
        elif how == "pages":
            f.seek(size // 2)
            f.write(b"\x91" * 8192)
        elif how == "text":  # three bytes of a stored text, wherever it is stored
            data = path.read_bytes()
            places = [i for i in range(len(data)) if data.startswith(NEEDLE, i)]
            assert places
            for at in places:
                f.seek(at)
                f.write(b"\x91\x91\x91")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path, dict]:
    """An index of a few articles (and its backup, and its snapshot), made once."""
    root = tmp_path_factory.mktemp("damage")
    articles = root / "articles"
    articles.mkdir()
    (articles / "rye.md").write_text(
        "# Marigold Bakery\n\nThe Marigold Bakery in Leeds bakes four hundred rye loaves "
        "every morning."
    )
    for i in range(12):
        (articles / f"mill{i}.md").write_text(
            f"# Mill {i}\n\nThe mill {i} ground oats by the weir."
        )
    home = root / "home"
    assert rag("ingest", str(articles), home=home).returncode == 0
    run = rag("backup", str(root / "backup"), home=home)
    assert run.returncode == 0, run.stderr
    return home, root / "backup", snapshot(Settings(home=home))


def damaged_copy(built, tmp_path: Path, which: str, how: str) -> tuple[Path, Path]:
    home, _, _ = built
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    target = copy / ("chroma/chroma.sqlite3" if which == "chroma" else "lexical/articles.sqlite")
    corrupt(target, how)
    return copy, target.resolve()


def one_line(run, path: Path, remedy: str) -> str:
    """The error line, after checking it is the only line of ours and names ``path``."""
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    lines = [line for line in run.stderr.splitlines() if line.startswith("rag:")]
    assert len(lines) == 1, run.stderr
    line = lines[0]
    assert line.startswith(f"rag: error: {path} is damaged (") and line.endswith(remedy), line
    return line


CAUSES = {  # what the line says was wrong (a garbled text may break the file's structure)
    "truncate": ("(database disk image is malformed)",),
    "header": ("(file is not a database)",),
    "text": ("not UTF-8", "malformed"),
    "pages": ("",),
}


def says(line: str, how: str) -> bool:
    return any(cause in line for cause in CAUSES[how])


@pytest.mark.parametrize("how", ["truncate", "header", "pages", "text"])
def test_a_damaged_lexical_index_says_so_and_repair_rebuilds_it(built, tmp_path, how):
    home, _, before = built
    copy, path = damaged_copy(built, tmp_path, "lexical", how)
    new = tmp_path / "new.md"
    new.write_text("# Kiln\n\nThe kiln at Settle fired bricks.")
    for args in (["status"], ["ask", QUESTION], ["ingest", str(new)]):
        run = rag(*args, home=copy)
        if args[0] != "status" and how in ("pages", "text") and run.returncode == 0:
            continue  # pages this command never read: only `rag status` reads them all
        assert says(one_line(run, path, LEXICAL_REMEDY), how)
    run = rag("status", "--repair", home=copy)
    assert run.returncode == 0, run.stderr
    assert "rebuilt the lexical index from the store (it was damaged: " in run.stdout
    assert rag("status", home=copy).returncode == 0
    settings = Settings(home=copy)
    hits = ChromaStore(settings).lexical_search("Marigold rye loaves", 3)
    assert "rye loaves" in hits[0].chunk.text
    after = snapshot(settings)
    after_ids = {a[0] for a in after["articles"]}
    assert {a[0] for a in before["articles"]} <= after_ids  # the store lost nothing


@pytest.mark.parametrize("how", ["truncate", "header", "pages", "text"])
def test_a_damaged_store_says_so_and_a_restore_brings_it_back(built, tmp_path, how):
    _, backup, before = built
    copy, path = damaged_copy(built, tmp_path, "chroma", how)
    remedy = CHROMA_REMEDY.format(dir=path.parent)
    new = tmp_path / "new.md"
    new.write_text("# Kiln\n\nThe kiln at Settle fired bricks.")
    for args in (["status"], ["ask", QUESTION], ["ingest", str(new)], ["status", "--repair"]):
        line = one_line(rag(*args, home=copy), path, remedy + " the articles again")
        assert says(line, how)
    run = rag("restore", str(backup), home=copy)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("restored the index of ")
    assert "(articles: 13 articles, 13 chunks) from " in run.stdout
    assert rag("status", home=copy).returncode == 0
    assert snapshot(Settings(home=copy)) == before
    [replaced] = [p for p in copy.iterdir() if p.name.startswith("replaced-")]
    assert (replaced / "chroma" / "chroma.sqlite3").exists()  # kept, named in the output
    assert str(replaced) in run.stdout


def test_the_ui_shows_the_one_line(built, tmp_path, monkeypatch):
    from tests.fakes import HashEmbedder
    from ui.service import Service

    copy, path = damaged_copy(built, tmp_path, "lexical", "truncate")
    monkeypatch.setattr("rag.registry.load_embedder", lambda settings: HashEmbedder())
    service = Service(Settings(home=copy))
    html, choices = service.overview()
    assert f"Index unavailable: {path} is damaged (database disk image is malformed); " in html
    assert choices == []
    messages, _ = list(service.chat(QUESTION, []))[-1]
    assert f"{path} is damaged (database disk image is malformed); rebuild it" in str(messages)
    assert "Traceback" not in str(messages)


def test_a_backup_of_an_index_with_a_damaged_lexical_index_leaves_it_out(built, tmp_path):
    copy, _ = damaged_copy(built, tmp_path, "lexical", "header")
    run = rag("backup", str(tmp_path / "b"), home=copy)
    assert run.returncode == 0, run.stderr
    assert not (tmp_path / "b" / "lexical").exists()
    fresh = tmp_path / "fresh"
    assert rag("restore", str(tmp_path / "b"), home=fresh).returncode == 0
    settings = Settings(home=fresh)  # rebuilt from the store on first use
    assert "rye loaves" in ChromaStore(settings).lexical_search("rye loaves", 1)[0].chunk.text


def test_backup_and_restore_refuse_in_one_line(built, tmp_path):
    home, backup, _ = built
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    run = rag("backup", str(tmp_path / "full"), home=home)
    assert run.returncode == 2
    assert (
        run.stderr.strip()
        == f"rag: error: {tmp_path / 'full'} exists and is not an empty folder; name a new one"
    )
    run = rag("backup", str(home / "inside"), home=home)
    assert "is inside the data directory" in run.stderr and run.returncode == 2
    run = rag("restore", str(tmp_path / "full"), home=home)
    assert run.stderr.strip().endswith("is not a backup made by `rag backup` (no backup.json)")
    bad = tmp_path / "bad"
    shutil.copytree(backup, bad)
    corrupt(bad / "chroma" / "chroma.sqlite3", "truncate")
    run = rag("restore", str(bad), home=home)
    assert run.returncode == 2 and "the backup's " in run.stderr and "use another" in run.stderr
    server = rag("backup", str(tmp_path / "s"), home=home, RAG_CHROMA_URL="http://127.0.0.1:9")
    assert server.returncode == 2
    assert "back up the server's data directory instead" in server.stderr
    assert os.listdir(tmp_path) == sorted(os.listdir(tmp_path))  # nothing half-written left
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_readers_keep_answering_during_a_backup_and_the_backup_is_whole(tmp_path):
    """A reader (another process, like `rag ui`) asks all through the backup; the backup,
    restored elsewhere, holds exactly what the index held."""
    import json
    import subprocess
    import sys
    import time

    from tests.reliability.helpers import ROOT, cli_env

    feed = tmp_path / "feed.jsonl"
    lines = [
        json.dumps(
            {"text": f"The mill {i} at Settle ground {i} sacks of oats.", "url": f"https://m/{i}"}
        )
        for i in range(3000)
    ]
    feed.write_text("\n".join(lines) + "\n")
    home = tmp_path / "home"
    assert rag("ingest", str(feed), home=home, timeout=600).returncode == 0
    before = snapshot(Settings(home=home))
    code = (
        "import sys, time\n"
        "import tests.reliability.hashcli  # registers RAG_EMBEDDER=hash, RAG_GENERATOR=echo\n"
        "from rag.pipeline import Assistant\n"
        "from rag.settings import Settings\n"
        "from tests.fakes import HashEmbedder, ScriptedLLM\n"
        "a = Assistant(Settings(), embedder=HashEmbedder(), llm=ScriptedLLM())\n"
        "end = time.monotonic() + float(sys.argv[1])\n"
        "while time.monotonic() < end:\n"
        "    found = a.retrieve('How many sacks did the mill 1234 grind?', 4)\n"
        "    ok = any('mill 1234 ' in p.chunk.text for p in found)\n"
        "    print('OK' if ok else 'MISS', time.time(), flush=True)\n"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", code, "60"],
        env=cli_env(home),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().split()[0] == "OK"  # answering before the backup
        started = time.time()
        run = rag("backup", str(tmp_path / "b"), home=home, timeout=300)
        ended = time.time()
        assert run.returncode == 0, run.stderr
        answers = []
        while not answers or float(answers[-1][1]) < ended + 1:  # and a second after it
            answers.append(reader.stdout.readline().split())
    finally:
        reader.kill()
        _, err = reader.communicate(timeout=30)
    assert {word for word, _ in answers} == {"OK"} and "Traceback" not in err, err[-2000:]
    during = [t for _, t in answers if started < float(t) < ended]
    assert during, f"no answer during the {ended - started:.1f} s backup"
    restored = tmp_path / "restored"
    assert rag("restore", str(tmp_path / "b"), home=restored).returncode == 0
    assert snapshot(Settings(home=restored)) == before


def test_a_backup_waits_for_a_writer_and_holds_all_of_its_work(tmp_path):
    from tests.reliability.helpers import spawn, stop

    folder = tmp_path / "w"
    folder.mkdir()
    for i in range(6):
        (folder / f"a{i}.md").write_text(f"# Mill {i}\n\nThe mill {i} ground oats by the weir.")
    home = tmp_path / "home"
    writer = spawn("ingest", str(folder), home=home, HASH_EMBED_DELAY=0.5, RAG_EMBED_BATCH_SIZE=1)
    try:
        lock = home / "write.lock"
        for _ in range(600):
            if lock.exists() and lock.read_text().strip():
                break
            import time

            time.sleep(0.05)
        run = rag("backup", str(tmp_path / "b"), home=home, timeout=120)
        assert run.returncode == 0, run.stderr
        assert "waiting for another writer" in run.stderr
        assert "(articles: 6 articles, 6 chunks)" in run.stdout
        writer.communicate(timeout=60)
    finally:
        stop(writer)


def test_a_restore_reaches_a_running_reader(built, tmp_path):
    """A reader process started on another index finds the restored articles at its next
    question (the generation file tells it to reopen)."""
    import subprocess
    import sys

    from tests.reliability.helpers import ROOT, cli_env

    _, backup, _ = built
    other = tmp_path / "other"
    (tmp_path / "kiln.md").write_text("# Kiln\n\nThe kiln at Settle fired bricks.")
    assert rag("ingest", str(tmp_path / "kiln.md"), home=other).returncode == 0
    reader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.reliability.reader",
            "Marigold rye loaves",
            "rye loaves",
            "60",
        ],
        env=cli_env(other),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "READY"
        assert rag("restore", str(backup), home=other).returncode == 0
        assert reader.stdout.readline().split()[:1] == ["FOUND"]
    finally:
        reader.kill()
        reader.wait()
