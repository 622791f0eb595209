"""Retrieval with fakes: the question embedded once per answer, filters decided in one place,
the LangChain retriever's options and documents, and the in-memory store behind the API."""

from __future__ import annotations

import pytest

import ingest
import rag
from rag import registry
from rag.api import make_filters
from rag.lexical import Filters
from rag.pipeline import Assistant
from rag.retriever import ArticleRetriever, document_of, passage_of
from rag.settings import Settings
from tests.conftest import SEED
from tests.fakes import HashEmbedder, ScriptedLLM

pytestmark = pytest.mark.unit

QUESTION = "How much does SoftBank pay OpenAI?"
ANSWER = "$3 billion (£2.4bn)"


@pytest.fixture
def memory_settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "home", store="memory", min_relevance=0.05)


@pytest.fixture
def embedder(memory_settings) -> HashEmbedder:
    embedder = HashEmbedder()
    report = ingest.ingest_paths(SEED, settings=memory_settings, embedder=embedder)
    assert report.ok
    embedder.queries.clear()
    return embedder


def test_the_question_is_embedded_once_per_answer(memory_settings, embedder):
    for retrieval in ("hybrid", "dense", "bm25"):
        settings = memory_settings.with_overrides(retrieval=retrieval)
        assistant = Assistant(settings, embedder=embedder, llm=ScriptedLLM(ANSWER))
        embedder.queries.clear()
        answer = assistant.answer(QUESTION)
        assert not answer.abstained and ANSWER in answer.text
        assert embedder.queries == [QUESTION], retrieval
    embedder.queries.clear()
    assistant.answer("How many people will it hire?", history=[(QUESTION, answer.text)])
    assert embedder.queries == ["How many people will SoftBank hire?"]  # the standalone one


def test_a_given_vector_is_used_as_it_is(memory_settings, embedder):
    assistant = Assistant(memory_settings, embedder=embedder, llm=ScriptedLLM())
    bakery = embedder.embed_query("rye bread bakery loaves")
    embedder.queries.clear()
    dense = assistant.retrieve(QUESTION, 2, vector=bakery)
    assert embedder.queries == []
    assert [p.chunk.id for p in dense] != [p.chunk.id for p in assistant.retrieve(QUESTION, 2)]


def test_filters_are_normalised_once():
    assert Filters.of() is None and Filters.of({}) is None and Filters.of(Filters()) is None
    assert Filters.of({"source": " "}, author="") is None
    assert Filters.of({"since": "2024-01-01"}, author="Ada") == Filters(
        since="2024-01-01", author="Ada"
    )
    with pytest.raises(ValueError, match="filter 'site': unknown"):
        Filters.of({"site": "bbc.co.uk"})
    assert make_filters() is None
    assert make_filters(source="bbc.co.uk") == Filters(source="bbc.co.uk")


def test_empty_filters_search_everything_and_unmatched_ones_say_so(memory_settings, embedder):
    assistant = Assistant(memory_settings, embedder=embedder, llm=ScriptedLLM(ANSWER))
    assert not assistant.answer(QUESTION, filters=Filters()).abstained
    nothing = assistant.answer(QUESTION, filters=Filters(source="nowhere.org"))
    assert nothing.abstained and nothing.text == "No article matches source=nowhere.org."


def test_the_langchain_retriever_takes_k_and_filters_per_call_or_as_defaults(
    memory_settings, embedder
):
    store = registry.open_store(memory_settings)
    retriever = ArticleRetriever(store=store, embedder=embedder, k=2)
    docs = retriever.invoke(QUESTION)
    assert len(docs) == 2 and all(d.metadata["source"] == str(SEED.resolve()) for d in docs)
    assert len(retriever.invoke(QUESTION, k=4)) == 4
    assert retriever.invoke(QUESTION, filter={"source": "nowhere.org"}) == []
    assert retriever.invoke(QUESTION, filters=Filters(until="1990-01-01")) == []
    narrow = ArticleRetriever(
        store=store, embedder=embedder, search_kwargs={"k": 1, "filter": {"author": "Nobody"}}
    )
    assert narrow.invoke(QUESTION) == []
    assert len(narrow.invoke(QUESTION, filter={"source": str(SEED.resolve())})) == 1
    with pytest.raises(ValueError, match="filter 'site': unknown"):
        retriever.invoke(QUESTION, filter={"site": "x"})


def test_documents_carry_our_metadata_and_round_trip(memory_settings, embedder):
    store = registry.open_store(memory_settings)
    retriever = ArticleRetriever(store=store, embedder=embedder, k=3, mode="dense")
    passages = retriever.passages(QUESTION)
    docs = retriever.invoke(QUESTION)
    assert [passage_of(d) for d in docs] == passages
    doc = docs[0]
    meta = doc.metadata
    assert set(meta) == {
        "article_id", "chunk_id", "title", "source", "date", "start", "end", "index", "score",
        "rank",
    }  # fmt: skip
    text = store.article_text(meta["article_id"])
    assert text[meta["start"] : meta["end"]] == doc.page_content and doc.id == meta["chunk_id"]
    assert meta["title"].startswith("SoftBank, OpenAI") and meta["rank"] == 0
    assert passage_of(document_of(passages[1])) == passages[1]


def test_the_memory_store_serves_the_public_api_in_one_process(tmp_path, fake_embedder):
    settings = Settings(home=tmp_path / "home", store="memory")
    assert ingest.ingest(SEED, settings=settings).counts["added"] == 1
    st = rag.status(settings)
    assert st.n_articles == 1 and st.n_chunks == 5 and st.data_dir.startswith("memory")
    assert st.index_embedding_model.name == fake_embedder.name
    again = Settings(home=tmp_path / "home", store="memory")  # another object, same index
    assert registry.open_store(again).count_chunks() == 5
    elsewhere = Settings(home=tmp_path / "other", store="memory")
    assert registry.open_store(elsewhere).count_chunks() == 0
    [info] = rag.delete(str(SEED), settings=settings)
    assert info.title.startswith("SoftBank") and registry.open_store(again).count_chunks() == 0


def test_settings_are_read_from_the_environment_only_when_it_changes(monkeypatch, tmp_path):
    from rag.settings import resolve

    monkeypatch.setenv("RAG_TOP_K", "3")
    first = resolve()
    assert first.top_k == 3 and resolve() is first  # not parsed again
    assert resolve(top_k=5).top_k == 5 and resolve() is first
    monkeypatch.setenv("RAG_TOP_K", "6")
    assert resolve().top_k == 6
    given = Settings(home=tmp_path)
    assert resolve(given) is given  # given settings are used as they are, never re-read
