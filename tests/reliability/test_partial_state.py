"""Partial states in process (fast): what the kill tests produce, built directly."""

from __future__ import annotations

import threading
import time

import pytest

from ingest.indexer import ingest_paths
from rag import api
from rag.backends.chroma import ChromaStore
from rag.locking import write_lock
from rag.settings import Settings
from tests.fakes import HashEmbedder


@pytest.fixture
def small(settings) -> Settings:
    return settings.with_overrides(chunk_size=200, chunk_overlap=40)


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "corpus"
    path.mkdir()
    for name in ("kiln", "ferry"):
        (path / f"{name}.md").write_text(
            f"# The {name}\n\n"
            + " ".join(f"The {name} worked in season {i} of the old town." for i in range(30))
        )
    return path


def test_an_article_whose_chunks_were_deleted_is_restored_by_ingest(small, folder):
    """What a delete killed after its chunks and before its record left (the order before
    this fix): 'unchanged' used to keep it with no chunks."""
    ingest_paths([folder], settings=small, embedder=HashEmbedder())
    store = ChromaStore(small)
    full = store.count_chunks()
    [kiln] = [i for i in store.list_articles() if i.source.endswith("kiln.md")]
    store.delete_chunks(store.chunk_ids_of(kiln.id)[3:])
    health = store.health()
    assert [p.source for p in health.incomplete] == [kiln.source]
    assert health.incomplete[0].n_chunks == 3 and health.incomplete[0].expected == kiln.n_chunks
    report = ingest_paths([folder], settings=small, embedder=HashEmbedder())
    assert report.counts["updated"] == 1 and report.counts["unchanged"] == 1
    assert store.count_chunks() == full and store.health().ok


def test_repair_removes_an_incomplete_article_and_ingest_adds_it_whole(small, folder):
    ingest_paths([folder], settings=small, embedder=HashEmbedder())
    store = ChromaStore(small)
    full = store.count_chunks()
    [kiln] = [i for i in store.list_articles() if i.source.endswith("kiln.md")]
    store.delete_chunks(store.chunk_ids_of(kiln.id)[:2])
    found = api.repair(small)
    assert [p.source for p in found.incomplete] == [kiln.source]
    assert store.article_info(kiln.id) is None and store.health().ok
    ingest_paths([folder], settings=small, embedder=HashEmbedder())
    assert store.count_chunks() == full


def test_status_counts_uncommitted_chunks_and_delete_removes_them(small, folder):
    ingest_paths([folder], settings=small, embedder=HashEmbedder())
    store = ChromaStore(small)
    [ferry] = [i for i in store.list_articles() if i.source.endswith("ferry.md")]
    store.articles.delete(ids=[ferry.id])  # as if killed before its commit
    st = api.status(small, check=True)
    assert [p.source for p in st.uncommitted] == [ferry.source]
    assert st.uncommitted[0].n_chunks == ferry.n_chunks and st.n_articles == 1
    removed = api.delete(ferry.source, settings=small)
    assert [i.source for i in removed] == [ferry.source]
    assert api.status(small, check=True).uncommitted == []


def test_the_write_lock_is_reentrant_and_serialises_threads(settings):
    order = []
    with write_lock(settings), write_lock(settings):  # re-entrant in one thread

        def take():
            with write_lock(settings, on_wait=order.append):
                order.append("second")

        other = threading.Thread(target=take)
        other.start()
        time.sleep(0.3)
        order.append("first done")
    other.join(timeout=10)
    assert order[-2:] == ["first done", "second"] and "waiting" in order[0]


def test_a_writer_that_cannot_get_the_lock_gives_up_with_one_line(settings):
    import fcntl
    import os

    settings.home.mkdir(parents=True)
    fd = os.open(settings.home / "write.lock", os.O_RDWR | os.O_CREAT)
    os.write(fd, b"4242\n")
    fcntl.flock(fd, fcntl.LOCK_EX)  # a separate open file: like another process
    messages: list[str] = []
    try:
        with (
            pytest.raises(RuntimeError, match=r"another writer \(pid 4242\) has held"),
            write_lock(settings, on_wait=messages.append, timeout=0.3),
        ):
            pass
    finally:
        os.close(fd)
    assert messages == ["rag: waiting for another writer (pid 4242) …"]


def test_folder_walk_names_skipped_files(settings, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.txt").write_text("A short article about kilns and their heat.")
    (folder / "b.docx").write_bytes(b"PK\x03\x04")
    (folder / "c.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    (folder / "notes").write_text("no extension")
    report = ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    skipped = sorted(r.error for r in report.results if r.status == "skipped")
    assert skipped == [
        f"{folder}/b.docx: skipped (unsupported type '.docx')",
        f"{folder}/c.zip: skipped (unsupported type '.zip')",
        f"{folder}/notes: skipped (unsupported type 'no extension')",
    ]
    assert report.ok and "3 skipped" in report.summary()
