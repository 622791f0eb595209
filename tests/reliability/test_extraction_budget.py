"""Every file's extraction is bounded in time and memory (``ingest.extraction``): the issue-19
Form-XObject bomb, a PDF and an HTML page that slip under the size guards but take long,
a file that needs too much memory, a crashed extractor, and the writer lock meanwhile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ingest.extraction import Extractor, _read_message, _write_message
from ingest.indexer import ingest_paths
from ingest.loaders import LoadError, load_path
from rag.settings import Settings
from tests.fakes import HashEmbedder
from tests.reliability.helpers import ROOT, rag, spawn, stop
from tests.reliability.hostile import GOOD_TEXT, pdf_bomb, slow_pdf, xobject_bomb


def slow_html(path: Path, blocks: int = 300_000) -> Path:
    """A page of ``blocks`` tiny nested paragraphs (about 10 MB): trafilatura works through
    it for over a minute on 2 cores."""
    path.write_text("<html><body>" + "<div><p>word word word</p></div>" * blocks + "</body></html>")
    return path


def test_the_issue_xobject_bomb_is_refused_at_once_in_one_line(tmp_path):
    bomb = xobject_bomb(tmp_path / "bomb.pdf")
    assert bomb.stat().st_size < 25_000  # 20 pages, each drawing 30 x 8 MB of operators
    started = time.perf_counter()
    with pytest.raises(LoadError) as caught:
        load_path(bomb)
    assert time.perf_counter() - started < 10  # was 244 s for page 1 alone
    message = str(caught.value)
    assert message.startswith(f"{bomb}: page 1 holds 239.4 MB of drawing instructions with its ")
    assert "\n" not in message


def test_pypdfs_own_limit_is_said_in_our_words(tmp_path):
    bomb = pdf_bomb(tmp_path / "huge.pdf", repeats=6_000_000)  # 96 MB: over pypdf's 75 MB
    with pytest.raises(LoadError) as caught:
        load_path(bomb)
    assert str(caught.value) == (
        f"{bomb}: page 1's drawing instructions decompress to more than pypdf allows; "
        "refused unread (compression bomb?)"
    )


def test_a_slow_pdf_is_stopped_at_its_budget_and_the_next_file_goes_on(tmp_path):
    slow = slow_pdf(tmp_path / "slow.pdf", pages=30)  # about 2-4 s a page
    good = tmp_path / "good.txt"
    good.write_text(GOOD_TEXT)
    with Extractor(max_seconds=2) as extractor:
        started = time.perf_counter()
        with pytest.raises(LoadError) as caught:
            extractor.load(slow)
        took = time.perf_counter() - started
        articles, _ = extractor.load(good)
    assert str(caught.value) == (
        f"{slow}: text extraction took over 2 s; refused (the limit is RAG_MAX_EXTRACT_S)"
    )
    assert 2 <= took < 6
    assert [a.title for a in articles] == ["Marigold Bakery"]
    assert extractor.n_started == 2  # the killed child was replaced


def test_a_slow_html_page_is_stopped_at_its_budget(tmp_path):
    page = slow_html(tmp_path / "page.html")
    with Extractor(max_seconds=3) as extractor, pytest.raises(LoadError, match="took over 3 s"):
        extractor.load(page)


def test_a_file_needing_too_much_memory_is_refused_in_one_line(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text(("The river rose. " * 60 + "\n\n") * 18_000)  # 17 MB of text
    with Extractor(max_mb=100, max_chars=50_000_000) as extractor:
        with pytest.raises(LoadError) as caught:
            extractor.load(big)
        assert str(caught.value) == (
            f"{big}: text extraction needs more than 100 MB of memory; refused "
            "(the limit is RAG_MAX_EXTRACT_MB)"
        )
        (tmp_path / "small.txt").write_text(GOOD_TEXT)
        assert len(extractor.load(tmp_path / "small.txt")[0]) == 1


def test_an_extractor_that_dies_is_named_and_replaced(tmp_path):
    slow = slow_pdf(tmp_path / "slow.pdf", pages=30)
    (tmp_path / "good.txt").write_text(GOOD_TEXT)
    with Extractor(max_seconds=60) as extractor:
        extractor.load(tmp_path / "good.txt")
        pid = extractor._child.pid
        threading.Timer(1.0, os.kill, (pid, signal.SIGSEGV)).start()  # a parser crashing
        with pytest.raises(LoadError) as caught:
            extractor.load(slow)
        assert str(caught.value) == (
            f"{slow}: the text extractor stopped on this file (signal SIGSEGV); refused"
        )
        assert len(extractor.load(tmp_path / "good.txt")[0]) == 1


def test_the_child_has_a_cpu_time_limit_of_its_own(tmp_path):
    """Even if the parent stopped watching the clock, the child stops itself (SIGXCPU)."""
    slow = slow_pdf(tmp_path / "slow.pdf", pages=30)
    child = subprocess.Popen(
        [sys.executable, "-m", "ingest.extraction", "2000", "1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert _read_message(child.stdout, time.monotonic() + 60) == {"ready": True}
        request = {"path": str(slow), "max_bytes": 20_000_000, "max_chars": 2_000_000}
        _write_message(child.stdin, request)
        assert child.wait(timeout=60) == -signal.SIGXCPU
    finally:
        child.kill()
        child.wait()


def test_many_small_files_share_one_extractor_process(tmp_path, monkeypatch):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(60):
        (folder / f"a{i:02}.md").write_text(f"# Mill {i}\n\nThe mill {i} ground oats by the river.")
    settings = Settings(home=tmp_path / "home")
    started = []
    original = Extractor._start

    def counting_start(self):
        started.append(1)
        return original(self)

    monkeypatch.setattr(Extractor, "_start", counting_start)
    report = ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    assert report.count("added") == 60 and len(started) == 1


def test_the_bombs_go_through_rag_ingest_one_line_each_and_the_rest_is_ingested(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    xobject_bomb(folder / "bomb.pdf")
    slow_pdf(folder / "slow.pdf", pages=30)
    (folder / "good.txt").write_text(GOOD_TEXT)
    started = time.perf_counter()
    run = rag("ingest", "in", home=tmp_path / "home", cwd=tmp_path, RAG_MAX_EXTRACT_S=2)
    assert time.perf_counter() - started < 60
    err = run.stderr.splitlines()
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert [line for line in err if line.startswith("failed:")] == [
        "failed: in/bomb.pdf: page 1 holds 239.4 MB of drawing instructions with its Form "
        "XObjects (239.4 MB so far); refused unread (compression bomb?)",
        "failed: in/slow.pdf: text extraction took over 2 s; refused (the limit is "
        "RAG_MAX_EXTRACT_S)",
    ]
    assert "added: in/good.txt (1 chunk)" in run.stdout


def test_no_file_holds_the_writer_lock_past_its_budget(tmp_path):
    """A writer stuck on a slow file lets the next writer in after the budget, not after
    the file (which would take minutes)."""
    folder = tmp_path / "slow"
    folder.mkdir()
    slow_pdf(folder / "slow.pdf", pages=60)
    other = tmp_path / "other"
    other.mkdir()
    (other / "good.txt").write_text(GOOD_TEXT)
    home = tmp_path / "home"
    first = spawn("ingest", str(folder), home=home, RAG_MAX_EXTRACT_S=3)
    try:
        deadline = time.monotonic() + 60
        lock = home / "write.lock"
        while time.monotonic() < deadline and not (lock.exists() and lock.read_text().strip()):
            time.sleep(0.05)
        second = rag("ingest", str(other), home=home, RAG_LOCK_TIMEOUT=30)
        assert second.returncode == 0, second.stderr
        assert "added:" in second.stdout
        out, err = first.communicate(timeout=60)
        assert "text extraction took over 3 s" in err
    finally:
        stop(first)


def test_an_extractor_killed_between_files_is_replaced_without_blaming_the_next(tmp_path):
    (tmp_path / "good.txt").write_text(GOOD_TEXT)
    with Extractor() as extractor:
        extractor.load(tmp_path / "good.txt")
        extractor._child.kill()
        extractor._child.wait()
        assert len(extractor.load(tmp_path / "good.txt")[0]) == 1
        assert extractor.n_started == 2
