"""``rag ingest``: one line per file, a summary line, exit status 0 / 1."""

import shutil

import pytest

from rag.backends.chroma import ChromaStore
from rag.cli import main
from tests.conftest import SEED

pytestmark = pytest.mark.unit


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    d = tmp_path / "articles"
    d.mkdir()
    shutil.copy(SEED, d / "seed.txt")
    (d / "bakery.md").write_text("# Elm Street bakery\n\nThe bakery sells rye bread.")
    return d


def test_ingest_prints_one_line_per_file_and_a_summary(folder, fake_embedder, settings, capsys):
    assert main(["ingest", "articles"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        "added: articles/bakery.md (1 chunk)",
        "added: articles/seed.txt (5 chunks)",
    ]
    assert out[2].startswith("2 articles (2 added, 0 updated, 0 unchanged), 0 removed, 0 failed; ")
    assert "6 chunks added in" in out[2] and "chunks/s" in out[2]
    assert main(["ingest", "articles"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "unchanged: articles/bakery.md (1 chunk)"


def test_exit_status_1_and_a_reason_when_a_file_fails(folder, fake_embedder, capsys):
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.md").write_bytes(b"\x00\x01" * 10)
    assert main(["ingest", str(folder), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"failed: {folder / 'binary.md'}: binary file, not text",
        f"failed: {folder / 'empty.txt'}: empty file",
    ]
    assert captured.out.splitlines()[0].startswith("2 articles (2 added")  # quiet: summary only


def test_sync_prints_removed_lines(folder, fake_embedder, capsys):
    main(["ingest", "articles"])
    (folder / "bakery.md").unlink()
    capsys.readouterr()
    assert main(["ingest", "--sync", "articles"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:2] == [
        "unchanged: articles/seed.txt (5 chunks)",
        "removed: articles/bakery.md (1 chunk)",
    ]
    assert "1 removed" in out


def test_collection_and_home_flags(folder, fake_embedder, tmp_path, settings):
    home = tmp_path / "elsewhere"
    assert main(["ingest", "articles", "--home", str(home), "--collection", "news", "-q"]) == 0
    store = ChromaStore(settings.with_overrides(home=home, collection="news"))
    assert store.count_chunks() == 6
    assert ChromaStore(settings).count_chunks() == 0  # RAG_HOME untouched


def test_a_missing_path_fails(folder, fake_embedder, capsys):
    assert main(["ingest", "nope.txt"]) == 1
    assert "failed: nope.txt: no such file or folder" in capsys.readouterr().err


def test_delete_and_status_after_ingest(folder, fake_embedder, capsys):
    main(["ingest", "articles", "--quiet"])
    assert main(["delete", "articles/bakery.md"]) == 0
    assert main(["delete", "no-such-article"]) == 1
    main(["status"])
    assert "articles       : 1" in capsys.readouterr().out


def test_the_cli_module_imports_nothing_heavy():
    import subprocess
    import sys

    code = (
        "import sys, ingest.cli; heavy = [m for m in ('chromadb', 'torch', 'trafilatura', "
        "'pypdf', 'langchain_core', 'ingest.indexer') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
