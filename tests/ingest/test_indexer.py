"""Indexing with the hash embedder and a real Chroma in tmp_path."""

import shutil

import pytest

from ingest import ingest_articles, ingest_paths
from ingest.cli import run as _unused  # noqa: F401  (the CLI module imports cleanly)
from rag.cli import main
from rag.records import Article
from rag.store import ChromaStore
from tests.conftest import SEED
from tests.fakes import HashEmbedder

pytestmark = pytest.mark.unit


class InterruptingEmbedder(HashEmbedder):
    """Dies like a Ctrl-C after embedding ``budget`` texts."""

    def __init__(self, budget: int):
        super().__init__()
        self.budget = budget

    def embed_documents(self, texts):
        if self.texts_embedded + len(texts) > self.budget:
            raise KeyboardInterrupt
        return super().embed_documents(texts)


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "articles"
    d.mkdir()
    shutil.copy(SEED, d / "seed.txt")
    (d / "bakery.md").write_text(
        "# Elm Street bakery\n\n" + "The bakery on Elm Street sells 300 loaves of rye bread. " * 40
    )
    return d


def test_ingesting_twice_adds_nothing_and_embeds_nothing(settings, folder):
    embedder = HashEmbedder()
    first = ingest_paths([folder], settings=settings, embedder=embedder)
    assert first.ok and first.count("added") == 2
    count = ChromaStore(settings).count_chunks()
    embedded = embedder.texts_embedded
    second = ingest_paths([folder], settings=settings, embedder=embedder)
    assert second.count("unchanged") == 2 and second.n_chunks_added == 0
    assert ChromaStore(settings).count_chunks() == count
    assert embedder.texts_embedded == embedded


def test_modified_article_replaces_its_chunks(settings, folder):
    embedder = HashEmbedder()
    ingest_paths([folder], settings=settings, embedder=embedder)
    store = ChromaStore(settings)
    path = folder / "bakery.md"
    [info] = [a for a in store.list_articles() if a.source == str(path)]
    before = set(store.chunk_ids_of(info.id))
    path.write_text("# Elm Street bakery\n\nThe bakery closed in 2024 after 26 years.")
    report = ingest_paths([folder], settings=settings, embedder=embedder)
    assert report.count("updated") == 1 and report.count("unchanged") == 1
    after = set(store.chunk_ids_of(info.id))
    assert after and not (after & before)
    texts = store.chunks.get(ids=list(after))["documents"]
    assert any("closed in 2024" in t for t in texts)
    assert not any("rye bread" in t for t in texts)


def test_chunk_offsets_point_into_the_stored_article(settings, folder):
    ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    store = ChromaStore(settings)
    for chunk, _ in store.all_chunks():
        assert store.article_text(chunk.article_id)[chunk.start : chunk.end] == chunk.text


def test_sync_removes_articles_whose_files_are_gone(settings, folder):
    ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    (folder / "bakery.md").unlink()
    report = ingest_paths([folder], settings=settings, embedder=HashEmbedder(), sync=True)
    assert report.count("removed") == 1
    assert [a.source for a in ChromaStore(settings).list_articles()] == [str(folder / "seed.txt")]


def test_without_sync_nothing_is_removed(settings, folder):
    ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    (folder / "bakery.md").unlink()
    ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    assert len(ChromaStore(settings).list_articles()) == 2


def test_broken_files_are_reported_and_good_ones_ingested(settings, folder):
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x00\xff" * 50)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    report = ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    assert not report.ok
    assert report.count("failed") == 3 and report.count("added") == 2
    assert all(r.error.startswith(str(folder)) for r in report.results if r.status == "failed")


def test_interrupted_ingest_is_completed_by_the_next_run(settings, folder):
    settings = settings.with_overrides(embed_batch_size=2, chunk_size=200, chunk_overlap=40)
    with pytest.raises(KeyboardInterrupt):
        ingest_paths([folder], settings=settings, embedder=InterruptingEmbedder(budget=5))
    store = ChromaStore(settings)
    partial = store.count_chunks()
    assert partial > 0
    report = ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    assert report.ok
    expected = sum(info.n_chunks for info in store.list_articles())
    assert store.count_chunks() == expected > partial
    again = ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    assert again.count("unchanged") == 2 and store.count_chunks() == expected


def test_ingest_articles_for_datasets(settings):
    articles = [
        Article(source=f"squad:{i}", title=f"T{i}", text=f"Text number {i}.") for i in range(3)
    ]
    report = ingest_articles(articles, settings=settings, embedder=HashEmbedder())
    assert report.count("added") == 3 and ChromaStore(settings).count_chunks() == 3


def test_cli_exit_status_says_some_failed(settings, folder, fake_embedder, capsys):
    assert main(["ingest", str(folder), "--quiet"]) == 0
    (folder / "empty.txt").write_bytes(b"")
    assert main(["ingest", str(folder), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"failed: {folder / 'empty.txt'}: empty file" in err


def test_cli_delete_and_status(settings, folder, fake_embedder, capsys):
    main(["ingest", str(folder), "--quiet"])
    assert main(["delete", str(folder / "bakery.md")]) == 0
    assert main(["delete", "no-such-article"]) == 1
    main(["status"])
    out = capsys.readouterr().out
    assert "articles       : 1" in out
