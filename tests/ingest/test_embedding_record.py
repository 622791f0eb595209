"""Each collection records the embedder that built it; another one is refused, at once.

Hash embedders of different sizes and names stand in for models; Chroma is real (embedded).
"""

from __future__ import annotations

import json

import pytest

from ingest import ingest_articles
from rag import api
from rag.backends.chroma import ChromaStore
from rag.cli import main
from rag.pipeline import Assistant
from rag.protocols import EmbedderMismatch
from rag.records import Article, EmbeddingModel
from tests.fakes import HashEmbedder, ScriptedLLM

pytestmark = pytest.mark.unit

BAKERY = Article(
    source="bakery.txt",
    title="Elm Street bakery",
    text="The bakery on Elm Street sells 300 loaves of rye bread every day.",
)
MILL = Article(source="mill.txt", title="Old mill", text="The old mill grinds rye since 1820.")


class CountingStore(ChromaStore):
    """Counts how often the collection's record is read."""

    reads = 0

    def embedding_model(self):
        CountingStore.reads += 1
        return super().embedding_model()


def test_first_write_records_the_embedder(settings):
    store = ChromaStore(settings)
    assert store.embedding_model() is None
    report = ingest_articles([BAKERY], settings=settings, store=store, embedder=HashEmbedder(64))
    assert report.ok
    assert ChromaStore(settings).embedding_model() == EmbeddingModel("hash-64", 64)
    assert api.status(settings).index_embedding_model == EmbeddingModel("hash-64", 64)


def test_ingest_with_another_embedder_fails_at_once_and_stores_nothing(settings):
    ingest_articles(
        [BAKERY], settings=settings, store=ChromaStore(settings), embedder=HashEmbedder(64)
    )
    other = HashEmbedder(128)
    store = ChromaStore(settings)
    with pytest.raises(EmbedderMismatch) as err:
        ingest_articles([MILL], settings=settings, store=store, embedder=other)
    assert str(err.value) == (
        "collection 'articles' was built with hash-64 (64 dims); this run uses hash-128 "
        "(128 dims). Use another --collection, or set RAG_EMBEDDER/RAG_EMBEDDING_MODEL back"
    )
    assert other.calls == 0  # refused before embedding anything
    assert [a.source for a in store.list_articles()] == ["bakery.txt"]


def test_same_dimension_but_another_name_is_refused_too(settings):
    ingest_articles(
        [BAKERY], settings=settings, store=ChromaStore(settings), embedder=HashEmbedder(64)
    )
    renamed = HashEmbedder(64)
    renamed.name = "other-model"
    with pytest.raises(EmbedderMismatch, match="built with hash-64 .* uses other-model"):
        ingest_articles([MILL], settings=settings, store=ChromaStore(settings), embedder=renamed)


def test_querying_with_another_embedder_is_refused(settings):
    ingest_articles(
        [BAKERY], settings=settings, store=ChromaStore(settings), embedder=HashEmbedder(64)
    )
    assistant = Assistant(
        settings, embedder=HashEmbedder(128), llm=ScriptedLLM(), store=ChromaStore(settings)
    )
    with pytest.raises(EmbedderMismatch, match="this run uses hash-128 \\(128 dims\\)"):
        assistant.answer("How many loaves does the bakery sell?")


def test_the_check_reads_the_record_once_per_store(settings):
    ingest_articles(
        [BAKERY], settings=settings, store=ChromaStore(settings), embedder=HashEmbedder(64)
    )
    CountingStore.reads = 0
    store = CountingStore(settings)
    assistant = Assistant(settings, embedder=HashEmbedder(64), llm=ScriptedLLM(), store=store)
    for _ in range(3):
        assistant.retrieve("How many loaves does the bakery sell?")
    assert CountingStore.reads == 1


def test_other_collections_are_independent(settings):
    ingest_articles(
        [BAKERY], settings=settings, store=ChromaStore(settings), embedder=HashEmbedder(64)
    )
    news = settings.with_overrides(collection="news")
    report = ingest_articles(
        [MILL], settings=news, store=ChromaStore(news), embedder=HashEmbedder(128)
    )
    assert report.ok
    assert ChromaStore(news).embedding_model() == EmbeddingModel("hash-128", 128)
    assert ChromaStore(settings).embedding_model() == EmbeddingModel("hash-64", 64)


def test_a_collection_from_before_records_is_adopted_on_the_next_write(settings):
    store = ChromaStore(settings)
    ingest_articles([BAKERY], settings=settings, store=store, embedder=HashEmbedder(64))
    store.chunks.modify(metadata={"note": "kept"})  # as collections were before this change
    assert ChromaStore(settings).embedding_model() is None

    # a query with a model of the stored vectors' size is served; another size is refused
    Assistant(settings, embedder=HashEmbedder(64), llm=ScriptedLLM()).retrieve("bakery")
    with pytest.raises(EmbedderMismatch, match="built with an unrecorded model \\(64 dims\\)"):
        ingest_articles(
            [MILL], settings=settings, store=ChromaStore(settings), embedder=HashEmbedder(32)
        )
    assert ChromaStore(settings).embedding_model() is None

    report = ingest_articles(
        [MILL], settings=settings, store=ChromaStore(settings), embedder=HashEmbedder(64)
    )
    assert report.ok
    fresh = ChromaStore(settings)
    assert fresh.embedding_model() == EmbeddingModel("hash-64", 64)
    assert fresh.chunks.metadata["note"] == "kept"
    # still cosine: an identical text scores 1
    [hit] = fresh.dense_search(HashEmbedder(64).embed_query(f"{MILL.title}\n{MILL.text}"), 1)
    assert hit.score == pytest.approx(1.0, abs=1e-4)


def test_an_emptied_collection_takes_another_model_of_the_same_dimension(settings):
    ingest_articles(
        [BAKERY], settings=settings, store=ChromaStore(settings), embedder=HashEmbedder(64)
    )
    ChromaStore(settings).delete_article(BAKERY.id)
    with pytest.raises(EmbedderMismatch, match="built with hash-64"):  # Chroma keeps 64 dims
        ingest_articles(
            [MILL], settings=settings, store=ChromaStore(settings), embedder=HashEmbedder(32)
        )
    renamed = HashEmbedder(64)
    renamed.name = "other-64"
    report = ingest_articles(
        [MILL], settings=settings, store=ChromaStore(settings), embedder=renamed
    )
    assert report.ok
    assert ChromaStore(settings).embedding_model() == EmbeddingModel("other-64", 64)


def test_unchanged_articles_need_no_embedder(settings):
    ingest_articles(
        [BAKERY], settings=settings, store=ChromaStore(settings), embedder=HashEmbedder(64)
    )
    report = ingest_articles(
        [BAKERY], settings=settings, store=ChromaStore(settings), embedder=HashEmbedder(128)
    )
    assert report.counts["unchanged"] == 1  # nothing to embed: nothing to refuse


def test_cli_status_and_a_refused_ask(settings, monkeypatch, capsys):
    ingest_articles(
        [BAKERY], settings=settings, store=ChromaStore(settings), embedder=HashEmbedder(64)
    )
    assert main(["status", "--home", str(settings.home)]) == 0
    assert "index built by : hash-64 (64 dims)" in capsys.readouterr().out
    assert main(["status", "--json", "--home", str(settings.home)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["index_embedding_model"] == {"name": "hash-64", "dimension": 64}

    other = HashEmbedder(128)
    monkeypatch.setattr("rag.registry.load_embedder", lambda s: other)
    monkeypatch.setattr("rag.registry.load_generator", lambda s: ScriptedLLM())
    code = main(["ask", "How many loaves?", "--home", str(settings.home), "--retrieval", "dense"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("rag: error: collection 'articles' was built")


def test_status_of_a_new_index_says_nothing_is_recorded(settings, capsys):
    assert main(["status", "--home", str(settings.home)]) == 0
    assert "index built by : not recorded yet" in capsys.readouterr().out
