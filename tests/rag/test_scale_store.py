"""The store at archive scale: O(1) change marker, paged reads, the on-disk lexical index
(incremental update and delete, backfill, other processes), filters inside the store."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from ingest import ingest_articles
from rag.backends.chroma import ChromaStore, lexical_path
from rag.lexical import Filters
from rag.pipeline import Assistant
from rag.records import Article
from tests.fakes import HashEmbedder, ScriptedLLM

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _article(n: int, text: str, **meta) -> Article:
    return Article(source=f"mem://{n}", title=f"Article {n}", text=text, **meta)


def _ingest(settings, articles, embedder=None):
    report = ingest_articles(articles, settings=settings, embedder=embedder or HashEmbedder())
    assert report.ok, report.failed
    return report


@pytest.mark.unit
def test_lexical_index_follows_updates_and_deletes(settings):
    store = ChromaStore(settings)
    first = _article(1, "The lighthouse keeper painted the tower bright crimson in 1903.")
    _ingest(settings, [first, _article(2, "Rye bread is dark and dense; bakers love it.")])
    before = store.revision()
    [hit] = store.lexical_search("crimson lighthouse", 5)
    assert hit.article_id == first.id and "crimson" in hit.chunk.text
    assert hit.title == "Article 1" and hit.source == "mem://1"

    changed = _article(1, "The lighthouse keeper painted the tower pale turquoise in 1911.")
    _ingest(settings, [changed])
    assert store.revision() != before
    assert store.lexical_search("crimson", 5) == []  # the old chunk is gone from the index
    assert [p.article_id for p in store.lexical_search("turquoise", 5)] == [first.id]

    revision = store.revision()
    store.delete_article(first.id)
    assert store.revision() != revision
    assert store.lexical_search("turquoise lighthouse", 5) == []
    assert [p.source for p in store.lexical_search("rye bakers", 5)] == ["mem://2"]
    assert store.lexical.count() == store.count_chunks()


@pytest.mark.unit
def test_revision_is_one_row_however_many_records(settings):
    store = ChromaStore(settings)
    _ingest(settings, [_article(1, "Some words about trains and stations.")])
    db = sqlite3.connect(lexical_path(settings, settings.collection))
    assert db.execute("SELECT value FROM state WHERE key='revision'").fetchone()[0] == int(
        store.revision()
    )


@pytest.mark.unit
def test_counts_are_read_once_per_revision_and_follow_other_writers(settings, monkeypatch):
    """Chroma's count() reads every row: a question must not pay for it."""
    reader = ChromaStore(settings)
    _ingest(settings, [_article(1, "Some words about trains and stations.")])
    assert (reader.count_chunks(), reader.count_articles()) == (1, 1)
    calls = []
    real = type(reader.chunks).count
    monkeypatch.setattr(type(reader.chunks), "count", lambda self: calls.append(1) or real(self))
    for _ in range(5):
        assert reader.count_chunks() == 1 and reader.count_articles() == 1
    assert calls == []
    _ingest(settings, [_article(2, "More words about ferries and harbours.")])  # another store
    assert (reader.count_chunks(), reader.count_articles()) == (2, 2) and len(calls) == 2
    reader.delete_article(_article(1, "").id)
    assert (reader.count_chunks(), reader.count_articles()) == (1, 1)


@pytest.mark.unit
def test_a_replaced_client_is_stopped_soon_not_at_the_next_change(settings, monkeypatch):
    from rag.backends.chroma import clients

    monkeypatch.setattr(clients, "RETIRE_SECONDS", 0.2)
    store = ChromaStore(settings)
    _ingest(settings, [_article(1, "Some words about trains and stations.")])
    store.dense_search(HashEmbedder().embed_query("trains"), 1)
    old = clients.handle(settings).client
    stopped = []
    system = old._system
    monkeypatch.setattr(system, "stop", lambda: stopped.append(system))
    path = clients.generation_path(settings)
    path.write_text(path.read_text() + "another process wrote\n")
    assert [p.source for p in store.dense_search(HashEmbedder().embed_query("trains"), 1)]
    assert clients.handle(settings).client is not old
    deadline = time.monotonic() + 5
    while not stopped and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stopped == [system]


@pytest.mark.unit
def test_old_index_without_lexical_file_is_backfilled_once(settings, capsys):
    _ingest(settings, [_article(1, "Glaciers carve fjords over thousands of years.", url=None)])
    path = lexical_path(settings, settings.collection)
    from rag.backends.chroma import mirror

    mirror.forget_indexes()
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    store = ChromaStore(settings)
    assert [p.source for p in store.lexical_search("fjords glaciers", 3)] == ["mem://1"]
    assert "indexing the 1 stored chunks" in capsys.readouterr().err
    mirror.forget_indexes()
    ChromaStore(settings).lexical_search("fjords", 3)
    assert "indexing" not in capsys.readouterr().err  # once only


@pytest.mark.unit
def test_a_chunk_missing_from_the_lexical_index_is_written_again(settings):
    store = ChromaStore(settings)
    article = _article(1, "Saffron is the dried stigma of a crocus flower.")
    _ingest(settings, [article])
    ids = store.chunk_ids_of(article.id)
    store.lexical.delete_chunks(ids)  # as if the process died between the two writes
    store.articles.delete(ids=[article.id])
    report = _ingest(settings, [article])
    assert report.n_chunks_added == len(ids)
    assert [p.article_id for p in store.lexical_search("saffron crocus", 3)] == [article.id]


def _news(settings):
    articles = [
        _article(
            1,
            "The harbour authority opened a new ferry terminal for island commuters.",
            url="https://www.harbour-news.com/a",
            date="2024-03-02",
            author="Ana Ruiz",
        ),
        _article(
            2,
            "The city council approved a ferry terminal budget after a long debate.",
            url="https://citydaily.org/b",
            date="2023-11-20",
            author="Ben Ola",
        ),
        _article(3, "A ferry terminal story with no date, no site and no author at all."),
    ]
    _ingest(settings, articles)
    return articles


@pytest.mark.unit
def test_filters_apply_inside_both_searches(settings):
    a, b, _ = _news(settings)
    store = ChromaStore(settings)
    vector = HashEmbedder().embed_query("ferry terminal")
    cases = [
        (Filters(source="harbour-news.com"), {a.id}),
        (Filters(source="mem://2"), {b.id}),
        (Filters(since="2024-01-01"), {a.id}),
        (Filters(until="2023-12-31"), {b.id}),
        (Filters(since="2023-11-20", until="2023-11-20"), {b.id}),
        (Filters(author="Ben Ola"), {b.id}),
        (Filters(author="Ana Ruiz", since="2025-01-01"), set()),
    ]
    for filters, expected in cases:
        dense = {p.article_id for p in store.dense_search(vector, 10, filters)}
        lexical = {p.article_id for p in store.lexical_search("ferry terminal", 10, filters)}
        assert dense == expected == lexical, filters
        assert store.any_match(filters) == bool(expected)
    # k smaller than the matches of the slice: still only the slice (not a filtered top-k)
    assert [p.article_id for p in store.dense_search(vector, 1, Filters(author="Ben Ola"))] == [
        b.id
    ]


@pytest.mark.unit
def test_answer_says_when_no_article_matches_the_filters(settings):
    _news(settings)
    llm = ScriptedLLM(reply="a new ferry terminal")
    assistant = Assistant(settings, embedder=HashEmbedder(), llm=llm)
    none = assistant.answer(
        "What opened?", filters=Filters(source="nowhere.net", since="2020-01-01")
    )
    assert none.abstained and none.text == "No article matches source=nowhere.net since=2020-01-01."
    some = assistant.answer(
        "What did the harbour authority open?", filters=Filters(author="Ana Ruiz")
    )
    assert {p.source for p in some.passages} == {"mem://1"}


@pytest.mark.unit
def test_filters_reject_bad_dates():
    with pytest.raises(ValueError, match="since=03/02/2024: since must be a date, YYYY-MM-DD"):
        Filters(since="03/02/2024")
    with pytest.raises(ValueError, match="until must not be before since"):
        Filters(since="2024-02-01", until="2024-01-01")


_WRITER = textwrap.dedent(
    """
    import sys
    from rag.backends.chroma import ChromaStore
    from rag.records import Article
    from rag.settings import Settings
    from ingest.indexer import make_chunks
    from tests.fakes import HashEmbedder

    store = ChromaStore(Settings(home=sys.argv[1]))
    article = Article(source="mem://late", title="Late news", text=sys.argv[2])
    chunks = make_chunks(article, 700, 120)
    embedder = HashEmbedder()
    store.upsert_chunks(article, chunks, embedder.embed_documents([c.text for c in chunks]))
    store.put_article(article, len(chunks))
    """
)


@pytest.mark.unit
def test_article_written_by_another_process_is_found_by_a_running_one(settings):
    """Both searches of a process that already answered see another process's new article,
    dense included (Chroma caches its vector index per client: the store reopens it when
    the revision moves)."""
    _ingest(settings, [_article(1, "Beekeepers count hives every spring in the valley.")])
    store = ChromaStore(settings)
    embedder = HashEmbedder()
    text = "Astronomers spotted a comet with a green tail over the observatory."
    vector = embedder.embed_query(text)
    assert store.dense_search(vector, 1)[0].source == "mem://1"  # the client is open and warm
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    subprocess.run(
        [sys.executable, "-c", _WRITER, str(settings.home), text],
        check=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        dense = store.dense_search(vector, 1)
        lexical = store.lexical_search("comet green tail", 1)
        if dense and dense[0].source == "mem://late" and lexical:
            break
        time.sleep(0.2)
    assert dense[0].source == "mem://late"
    assert lexical[0].source == "mem://late"


@pytest.mark.slow
def test_questions_against_more_than_40000_article_records(settings, capsys):
    """Chroma 1.5 fails an unpaged get above ~32,000 ids; the store pages every get and
    answers without reading the article records. Records are written directly (no
    embedding) to stay fast (about 20 s)."""
    store = ChromaStore(settings)
    n = 41_000
    for i in range(0, n, 5000):
        numbers = range(i, min(n, i + 5000))
        ids = [f"bulk{j}" for j in numbers]
        store.articles.upsert(
            ids=ids,
            documents=["filler"] * len(ids),
            metadatas=[
                {"source": f"bulk://{j}", "title": f"Bulk {j}", "hash": "h"} for j in numbers
            ],
            embeddings=[[0.0]] * len(ids),
        )
    _ingest(settings, [_article(1, "The museum reopened its dinosaur hall in May.")])
    assert store.count_articles() == n + 1
    assistant = Assistant(settings, embedder=HashEmbedder(), llm=ScriptedLLM("its dinosaur hall"))
    answer = assistant.answer("What did the museum reopen?")
    assert not answer.abstained and answer.citations[0].source == "mem://1"
    assert len(store.list_articles()) == n + 1
    assert [a.id for a in store.find_articles("bulk://40999")] == ["bulk40999"]
    assert "indexing" not in capsys.readouterr().err  # a new index needs no backfill
