"""Ingestion with the real all-MiniLM-L6-v2 embedder and Chroma on disk."""

import shutil

import pytest

from ingest import ingest_paths
from rag.store import ChromaStore
from tests.conftest import CORPUS

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def corpus(tmp_path):
    d = tmp_path / "corpus"
    shutil.copytree(CORPUS, d)
    return d


def test_ingesting_the_corpus_twice_leaves_the_count_unchanged(settings, corpus):
    first = ingest_paths([corpus], settings=settings)
    assert first.ok and first.n_chunks_added > 0
    count = ChromaStore(settings).count_chunks()
    second = ingest_paths([corpus], settings=settings)
    assert second.n_chunks_added == 0 and ChromaStore(settings).count_chunks() == count


def test_a_modified_article_replaces_its_chunks(settings, corpus):
    ingest_paths([corpus], settings=settings)
    store = ChromaStore(settings)
    path = corpus / "softbank-openai-japan.txt"
    path.write_text(path.read_text().replace("$3 billion", "$4 billion"))
    report = ingest_paths([corpus], settings=settings)
    assert report.count("updated") == 1
    texts = [chunk.text for chunk, _ in store.all_chunks()]
    assert any("$4 billion" in t for t in texts) and not any("$3 billion" in t for t in texts)
    assert store.count_chunks() == sum(a.n_chunks for a in store.list_articles())


def test_a_folder_with_a_broken_file_still_ingests_the_good_ones(settings, corpus):
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7 not a pdf")
    (corpus / "notes.txt").write_bytes(b"\xff\xfe\x00\x00binary")
    report = ingest_paths([corpus], settings=settings)
    assert report.count("failed") == 2 and report.count("added") == 1
    assert ChromaStore(settings).count_chunks() > 0
