"""Several real processes on one data directory: two writers, readers while writing, and a
running reader seeing another process's commit (embedded Chroma)."""

from __future__ import annotations

import subprocess
import sys
import time

from ingest.indexer import ingest_paths
from rag.backends.chroma import ChromaStore
from rag.settings import Settings
from tests.fakes import HashEmbedder
from tests.reliability.helpers import ROOT, cli_env, rag, snapshot, spawn, stop


def make_folder(path, n=8):
    path.mkdir()
    for i in range(n):
        (path / f"a{i}.md").write_text(
            f"# Mill {i}\n\nThe water mill number {i} ground oats for the village of Ash {i}. "
            f"It stood by the river for {100 + i} years before the flood.\n"
        )
    return path


def wait_for_lock_holder(home, proc, timeout=60.0) -> None:
    deadline = time.monotonic() + timeout
    lock = home / "write.lock"
    while time.monotonic() < deadline:
        if lock.exists() and lock.read_text().strip() == str(proc.pid):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the first writer never took the lock")


def test_two_writers_one_waits_nothing_embedded_twice(tmp_path):
    folder = make_folder(tmp_path / "corpus")
    home = tmp_path / "home"
    first = spawn("ingest", str(folder), home=home, HASH_EMBED_DELAY=0.5, RAG_EMBED_BATCH_SIZE=1)
    try:
        wait_for_lock_holder(home, first)
        status = rag("status", home=home, timeout=60)  # readers are never blocked
        assert status.returncode == 0
        second = rag("ingest", str(folder), home=home, timeout=120)
        out1, err1 = first.communicate(timeout=120)
    finally:
        stop(first)
    assert first.returncode == 0 and second.returncode == 0, (err1, second.stderr)
    assert f"waiting for another writer (pid {first.pid})" in second.stderr
    assert "8 articles (8 added" in out1
    assert "8 articles (0 added, 0 updated, 8 unchanged)" in second.stdout  # embedded once
    assert len(snapshot(Settings(home=home))["chunks"]) == 8


def test_a_second_writer_gives_up_after_the_lock_timeout_with_one_line(tmp_path):
    folder = make_folder(tmp_path / "corpus", n=4)
    home = tmp_path / "home"
    first = spawn("ingest", str(folder), home=home, HASH_EMBED_DELAY=2, RAG_EMBED_BATCH_SIZE=1)
    try:
        wait_for_lock_holder(home, first)
        second = rag("delete", str(folder / "a0.md"), home=home, RAG_LOCK_TIMEOUT=0.5)
    finally:
        stop(first)
    lines = second.stderr.strip().splitlines()
    assert second.returncode == 2 and "Traceback" not in second.stderr
    assert lines[-1].startswith(f"rag: error: another writer (pid {first.pid}) has held")


def test_a_running_reader_sees_another_processes_commit_within_seconds(tmp_path):
    home = tmp_path / "home"
    settings = Settings(home=home)
    first = make_folder(tmp_path / "first", n=2)
    assert ingest_paths([first], settings=settings, embedder=HashEmbedder()).ok
    question = "Which lighthouse keeper on Skerry Island logged the storms?"
    reader = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.reader", question, "Skerry", "60"],
        env=cli_env(home),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert reader.stdout.readline().strip() == "READY", reader.stderr.read()
        new = tmp_path / "new"
        new.mkdir()
        (new / "skerry.md").write_text(
            "# Skerry Island\n\nThe lighthouse keeper on Skerry Island logged the storms "
            "of every winter in a red book.\n"
        )
        writer = rag("ingest", str(new), home=home)
        committed = time.time()
        assert writer.returncode == 0, writer.stderr
        line = reader.stdout.readline().strip()
        assert line.startswith("FOUND"), (line, reader.stderr.read()[-2000:])
        delay = float(line.split()[1]) - committed
        assert delay < 5.0
    finally:
        stop(reader)
    assert len(ChromaStore(settings).list_articles()) == 3
