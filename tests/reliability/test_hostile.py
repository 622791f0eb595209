"""A generated corpus of hostile files through a real ``rag ingest``: one line each, no
crash, no unbounded work, and the good files ingested."""

from __future__ import annotations

import time

import pytest

from ingest.chunking import chunk_text
from ingest.loaders import LoadError, load_path
from tests.reliability.helpers import rag
from tests.reliability.hostile import make_hostile_corpus, pdf_bomb

# file -> what its one line must say
EXPECTED = {
    "binary.txt": "failed: hostile/binary.txt: binary file",
    "empty.txt": "failed: hostile/empty.txt: empty file",
    "blank.md": "failed: hostile/blank.md: no text",
    "latin1.txt": "failed: hostile/latin1.txt: not valid UTF-8",
    "big-line.txt": "failed: hostile/big-line.txt: too much text (5,000,000 characters",
    "broken.html": "hostile/broken.html",
    "script-only.html": "failed: hostile/script-only.html: no article text",
    "mixed.jsonl:2": "failed: hostile/mixed.jsonl:2: invalid JSON",
    "mixed.jsonl:3": "failed: hostile/mixed.jsonl:3: missing or empty 'text'",
    "mixed.jsonl:4": "failed: hostile/mixed.jsonl:4: expected a JSON object",
    "mixed.jsonl:5": "failed: hostile/mixed.jsonl:5: missing or empty 'text'",
    "fake.pdf": "failed: hostile/fake.pdf: broken PDF",
    "bomb.pdf": "failed: hostile/bomb.pdf: page 1 holds 16.0 MB of drawing instructions",
    "report.docx": "skipped: hostile/report.docx: skipped (unsupported type '.docx')",
    "archive.zip": "skipped: hostile/archive.zip: skipped (unsupported type '.zip')",
    "self-link.txt": "failed: hostile/self-link.txt: cannot read (a broken or looping link)",
    "loop/self": "skipped: hostile/loop/self: skipped (linked folder, not followed)",
}


def test_hostile_corpus_one_line_each_and_good_files_ingested(tmp_path):
    make_hostile_corpus(tmp_path / "hostile")
    started = time.perf_counter()
    run = rag("ingest", "hostile", home=tmp_path / "home", cwd=tmp_path, timeout=180)
    seconds = time.perf_counter() - started
    out = run.stdout + run.stderr
    assert "Traceback" not in out and run.returncode == 1, out[-3000:]
    lines = out.splitlines()
    for name, expected in EXPECTED.items():
        mine = [line for line in lines if f"hostile/{name}" in line.split(" (")[0]]
        assert len(mine) == 1, (name, mine)
        assert expected in mine[0], (name, mine[0])
    assert "added: hostile/good.txt" in out and "added: https://example.org/good" in out
    assert "good-deep.md (1 chunk)" in out
    assert "3 articles (3 added" in out and "3 skipped" in out
    assert seconds < 120  # the bomb and the 5 MB line are refused, not worked through


def test_a_pdf_bomb_is_refused_before_extraction(tmp_path):
    bomb = pdf_bomb(tmp_path / "bomb.pdf")
    assert bomb.stat().st_size < 64_000  # 16 MB of drawing instructions inside
    started = time.perf_counter()
    with pytest.raises(LoadError, match="bomb.pdf: page 1 holds 16.0 MB"):
        load_path(bomb)
    assert time.perf_counter() - started < 10


def test_a_pdf_of_many_pages_stops_at_the_character_limit(tmp_path):
    pages = pdf_bomb(tmp_path / "pages.pdf", repeats=2_000, pages=200)  # 20,000 chars a page
    started = time.perf_counter()
    with pytest.raises(LoadError, match="over 100,000 characters by page 6"):
        load_path(pages, max_chars=100_000)
    assert time.perf_counter() - started < 20  # 6 pages read, not 200


def test_the_chunk_limit_refuses_an_article_with_one_line(tmp_path):
    from ingest.indexer import ingest_paths
    from rag.settings import Settings
    from tests.fakes import HashEmbedder

    (tmp_path / "long.txt").write_text("word " * 60_000)  # 300,000 chars: ~500 chunks
    settings = Settings(home=tmp_path / "home", max_article_chunks=100)
    report = ingest_paths([tmp_path / "long.txt"], settings=settings, embedder=HashEmbedder())
    [failed] = report.failed
    assert "long.txt: too many chunks" in failed.error and "the limit is 100" in failed.error


@pytest.mark.parametrize("text", ["x" * 5_000_000, "word " * 1_000_000])
def test_a_5mb_line_without_punctuation_chunks_in_bounded_time(text):
    started = time.perf_counter()
    spans = chunk_text(text, 700, 120)
    assert time.perf_counter() - started < 60
    assert spans and all(e - s <= 700 for s, e in spans)
