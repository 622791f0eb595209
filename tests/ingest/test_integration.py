"""Ingestion with the real all-MiniLM-L6-v2 embedder (from its PyPI package) and Chroma on disk."""

import pytest

from ingest import ingest_paths
from rag import registry
from rag.backends.chroma import ChromaStore
from rag.records import Article

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def assert_consistent(store: ChromaStore) -> None:
    infos = {a.id: a for a in store.list_articles()}
    chunks = store.all_chunks()
    assert len(chunks) == sum(a.n_chunks for a in infos.values())
    for chunk, _ in chunks:
        assert store.article_text(chunk.article_id)[chunk.start : chunk.end] == chunk.text


def test_ingesting_the_corpus_twice_leaves_the_count_unchanged(settings, corpus_copy):
    first = ingest_paths([corpus_copy], settings=settings)
    assert first.ok and first.counts["added"] >= 1 and first.n_chunks_added > 0
    store = ChromaStore(settings)
    count = store.count_chunks()
    assert count == first.n_chunks_added
    second = ingest_paths([corpus_copy], settings=settings)
    assert second.ok and second.n_chunks_added == 0 and store.count_chunks() == count
    assert second.counts["unchanged"] == first.counts["added"]
    assert_consistent(store)


def test_the_seed_article_is_found_by_meaning_and_its_furniture_is_not(settings, corpus_copy):
    ingest_paths([corpus_copy], settings=settings)
    store = ChromaStore(settings)
    embedder = registry.load_embedder(settings)
    [best] = store.dense_search(embedder.embed_query("How much does SoftBank pay OpenAI?"), 1)
    assert "$3 billion" in best.chunk.text and best.score > 0.4
    texts = " ".join(chunk.text for chunk, _ in store.all_chunks())
    assert "Recent Posts" not in texts and "Cybertruck" not in texts and "Broersma" not in texts


def test_a_modified_article_replaces_its_chunks(settings, corpus_copy):
    ingest_paths([corpus_copy], settings=settings)
    store = ChromaStore(settings)
    path = corpus_copy / "softbank-openai-japan.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("$3 billion", "$4 billion"))
    report = ingest_paths([corpus_copy], settings=settings)
    assert report.counts["updated"] == 1
    texts = [chunk.text for chunk, _ in store.all_chunks()]
    assert any("$4 billion" in t for t in texts) and not any("$3 billion" in t for t in texts)
    assert_consistent(store)


def test_a_folder_with_broken_files_still_ingests_the_good_ones(settings, corpus_copy):
    (corpus_copy / "broken.pdf").write_bytes(b"%PDF-1.7 not a pdf")
    (corpus_copy / "notes.txt").write_bytes(b"\xff\xfe\x00\x00binary\x00")
    (corpus_copy / "empty.md").write_bytes(b"")
    (corpus_copy / "cafe.txt").write_bytes("Caf\xe9 opens".encode("latin-1"))
    report = ingest_paths([corpus_copy], settings=settings)
    assert not report.ok and report.counts["failed"] == 4
    assert sorted(r.error.split(": ", 1)[0].rsplit("/", 1)[1] for r in report.failed) == [
        "broken.pdf",
        "cafe.txt",
        "empty.md",
        "notes.txt",
    ]
    assert report.counts["added"] >= 1 and ChromaStore(settings).count_chunks() > 0


def test_dataset_articles_embed_in_shared_batches(settings):
    from ingest import ingest_articles

    articles = [
        Article(f"squad:{i}", f"Topic {i}", f"Paragraph {i} is about harbour number {i}.")
        for i in range(40)
    ]
    report = ingest_articles(articles, settings=settings)
    assert report.ok and report.n_chunks_added == 40
    assert ChromaStore(settings).count_chunks() == 40
