"""The Store contract: one suite, run against every backend.

- ``memory``: ``rag.backends.memory`` (dictionaries, numpy, an in-memory SQLite FTS5 index);
- ``chroma``: embedded Chroma in a data directory;
- ``chroma-server``: a real ``chroma run`` server started by the tests on 127.0.0.1.

Everything the pipeline, the indexer and the commands use goes through ``rag.protocols.Store``
(the last test checks that no caller reaches past it), so a backend that passes this suite
can serve them all.
"""

from __future__ import annotations

import ast
import math
import uuid
from pathlib import Path

import pytest

from rag import registry
from rag.lexical import Filters
from rag.protocols import EmbedderMismatch, Store
from rag.records import Article, Chunk, EmbeddingModel, chunk_id_for
from rag.settings import Settings
from tests.fakes import HashEmbedder

ROOT = Path(__file__).resolve().parents[2]
EMBEDDER = HashEmbedder(64)
BACKENDS = [
    pytest.param("memory", marks=pytest.mark.unit),
    pytest.param("chroma", marks=pytest.mark.unit),
    pytest.param("chroma-server", marks=[pytest.mark.integration, pytest.mark.slow]),
]

FERRY = Article(
    source="/news/ferry.txt",
    title="Harbour ferry",
    text="The harbour ferry leaves at noon.\n\nTickets cost four euros on board.",
    date="2024-03-07",
    author="Ada Brown",
    url="https://www.example.org/ferry",
)
BAKERY = Article(
    source="/news/bakery.txt",
    title="Lumen bakery",
    text="The Lumen bakery bakes rye bread.\n\nIt opened in Tartu in March.",
    date="2023-05-01",
    author="Maria Kask",
    url="https://news.example.com/bakery",
)
MILL = Article(
    source="/news/mill.txt",
    title="Old mill",
    text="The old mill grinds rye every morning.\n\nIts wheel turns on the river.",
)


@pytest.fixture(params=BACKENDS)
def open_store(request, tmp_path):
    """Opens a store over one fresh collection (each call: another object, same index)."""
    collection = f"contract_{uuid.uuid4().hex[:12]}"
    home = tmp_path / "home"
    if request.param == "memory":
        settings = Settings(home=home, store="memory", collection=collection)
    elif request.param == "chroma":
        settings = Settings(home=home, collection=collection)
    else:
        server = request.getfixturevalue("chroma_server")
        settings = Settings(home=home, chroma_url=server.url, collection=collection)
    return lambda: registry.open_store(settings)


@pytest.fixture
def store(open_store) -> Store:
    return open_store()


def chunks_of(article: Article) -> list[Chunk]:
    """One chunk per paragraph, ids keyed by the article's id and hash (as the indexer's)."""
    chunks, start = [], 0
    for index, paragraph in enumerate(article.text.split("\n\n")):
        start = article.text.index(paragraph, start)
        key = f"{article.id}:{article.hash}"
        chunks.append(
            Chunk(
                chunk_id_for(key, start, paragraph),
                article.id,
                paragraph,
                start,
                start + len(paragraph),
                index,
            )
        )
        start += len(paragraph)
    return chunks


def write(store: Store, article: Article, *, commit: bool = True, extra: int = 0) -> list[Chunk]:
    """Store the article's chunks, then (``commit``) its record claiming ``extra`` more."""
    chunks = chunks_of(article)
    store.upsert_chunks(article, chunks, EMBEDDER.embed_documents([c.text for c in chunks]))
    if commit:
        store.put_article(article, len(chunks) + extra)
    return chunks


def vector(text: str) -> list[float]:
    return EMBEDDER.embed_query(text)


def cosine(a, b) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


# ----- the protocol -------------------------------------------------------------------------
def test_the_backend_implements_every_member_of_the_protocol(store):
    members = [n for n in vars(Store) if not n.startswith("_")] + ["name"]
    missing = [n for n in members if not hasattr(store, n)]
    assert missing == []
    assert isinstance(store, Store)
    own = [n for n in members if n != "name" and not callable(getattr(type(store), n, None))]
    assert own == []  # defined by the class itself, not found through __getattr__


def test_an_empty_store(store):
    assert (store.count_chunks(), store.count_articles()) == (0, 0)
    assert store.list_articles() == [] and store.all_chunks() == []
    assert store.dense_search(vector("ferry"), 3) == []
    assert store.lexical_search("ferry", 3) == []
    assert not store.any_match(None) and not store.any_match(Filters(source="example.org"))
    assert store.health().ok and store.find_uncommitted() == []
    assert store.embedding_model() is None
    assert store.article_info("nope") is None and store.article_text("nope") is None
    assert isinstance(store.revision(), str) and store.location()


def test_asking_whether_it_exists_creates_nothing(open_store):
    """``exists`` and ``collections`` are what read-only commands (``rag status``, the UI's
    collection chooser) ask first: they make no collection, and no data directory."""
    store = open_store()
    assert not store.exists() and store.name not in store.collections()
    assert not open_store().exists()  # asking made nothing
    assert not store.settings.home.exists()
    write(store, FERRY)
    assert store.exists() and open_store().exists()
    # one name per collection, whatever the backend keeps beside it
    assert [n for n in open_store().collections() if n.startswith(store.name)] == [store.name]
    other = registry.open_store(store.settings.with_overrides(collection=store.name + "_b"))
    assert not other.exists() and other.name not in store.collections()
    write(other, BAKERY)
    assert {store.name, other.name} <= set(store.collections())
    assert store.collections() == sorted(store.collections())


# ----- writing and reading ------------------------------------------------------------------
def test_committed_chunks_are_found_by_dense_and_lexical_search(store):
    ferry = write(store, FERRY)
    write(store, BAKERY)
    write(store, MILL)
    query = "When does the harbour ferry leave?"

    dense = store.dense_search(vector(query), 2)
    assert [p.chunk.id for p in dense][0] == ferry[0].id and [p.rank for p in dense] == [0, 1]
    top = dense[0]
    assert (top.title, top.source, top.date, top.article_id) == (
        "Harbour ferry", FERRY.source, "2024-03-07", FERRY.id
    )  # fmt: skip
    assert FERRY.text[top.chunk.start : top.chunk.end] == top.chunk.text == ferry[0].text
    assert top.score == pytest.approx(cosine(vector(query), vector(ferry[0].text)), abs=1e-4)
    assert dense[0].score >= dense[1].score

    lexical = store.lexical_search("rye bread bakery", 3)
    assert lexical[0].article_id == BAKERY.id and lexical[0].title == "Lumen bakery"
    assert [p.rank for p in lexical] == list(range(len(lexical)))
    assert all(a.score >= b.score for a, b in zip(lexical, lexical[1:], strict=False))
    assert {p.article_id for p in lexical} <= {BAKERY.id, MILL.id}  # "rye" is in the mill's


def test_k_passages_at_most(store):
    for article in (FERRY, BAKERY, MILL):
        write(store, article)
    assert len(store.dense_search(vector("rye"), 4)) == 4
    assert len(store.dense_search(vector("rye"), 1)) == 1
    assert len(store.dense_search(vector("rye"), 50)) == 6
    assert len(store.lexical_search("rye", 1)) == 1


def test_articles_and_their_records(store):
    write(store, FERRY)
    write(store, BAKERY)
    write(store, MILL)
    info = store.article_info(FERRY.id)
    assert (info.source, info.title, info.date, info.author, info.url) == (
        FERRY.source, FERRY.title, FERRY.date, FERRY.author, FERRY.url
    )  # fmt: skip
    assert (info.hash, info.n_chunks) == (FERRY.hash, 2)
    assert store.article_text(FERRY.id) == FERRY.text
    assert [i.source for i in store.list_articles()] == sorted(
        a.source for a in (FERRY, BAKERY, MILL)
    )
    assert len(store.list_articles(limit=2)) == 2 and store.count_articles() == 3
    for key in (FERRY.id, FERRY.source, FERRY.url, FERRY.title):
        assert [i.id for i in store.find_articles(key)] == [FERRY.id]
    assert store.find_articles("no such thing") == []


def test_chunk_ids_and_owners(store):
    ferry = write(store, FERRY)
    bakery = write(store, BAKERY)
    assert sorted(store.chunk_ids_of(FERRY.id)) == sorted(c.id for c in ferry)
    found = store.chunk_ids_by_article([FERRY.id, BAKERY.id, "absent"])
    assert {k: sorted(v) for k, v in found.items()} == {
        FERRY.id: sorted(c.id for c in ferry),
        BAKERY.id: sorted(c.id for c in bakery),
    }
    assert store.existing_chunk_ids([ferry[0].id, "absent"]) == {ferry[0].id}
    assert store.count_chunks() == 4
    assert {c.id for c, _ in store.all_chunks()} == {c.id for c in ferry + bakery}


def test_writing_the_same_chunks_again_stores_them_once(store):
    write(store, FERRY)
    write(store, FERRY)
    assert store.count_chunks() == 2 and store.count_articles() == 1
    assert len(store.lexical_search("tickets euros", 5)) == 1


def test_another_object_over_the_same_collection_sees_the_writes(open_store):
    writer, reader = open_store(), open_store()
    assert reader.count_chunks() == 0
    write(writer, FERRY)
    assert reader.count_chunks() == 2 and reader.count_articles() == 1
    assert reader.dense_search(vector("harbour ferry"), 1)[0].article_id == FERRY.id


def test_the_revision_changes_with_every_write_and_only_then(store):
    seen = [store.revision()]
    chunks = write(store, FERRY, commit=False)
    seen.append(store.revision())
    store.put_article(FERRY, len(chunks))
    seen.append(store.revision())
    store.dense_search(vector("ferry"), 2)
    store.lexical_search("ferry", 2)
    assert store.revision() == seen[-1]
    store.delete_chunks([chunks[1].id])
    seen.append(store.revision())
    store.delete_article(FERRY.id)
    seen.append(store.revision())
    assert len(set(seen)) == len(seen), seen


# ----- commits, health and repair -------------------------------------------------------------
def test_uncommitted_chunks_are_never_read_for_answers(store):
    write(store, BAKERY)
    ferry = write(store, FERRY, commit=False)  # an ingest killed before its commit
    assert store.dense_search(vector("harbour ferry noon"), 4)[0].article_id == BAKERY.id
    assert all(p.article_id != FERRY.id for p in store.dense_search(vector("ferry"), 4))
    assert store.lexical_search("ferry noon", 4) == []
    assert {c.article_id for c, _ in store.all_chunks()} == {BAKERY.id}
    assert len(store.all_chunks(committed_only=False)) == 4
    [partial] = store.find_uncommitted(FERRY.source)
    assert (partial.id, partial.source, partial.n_chunks, partial.expected) == (
        FERRY.id, FERRY.source, 2, None
    )  # fmt: skip
    assert [p.id for p in store.find_uncommitted()] == [FERRY.id]
    assert store.find_uncommitted(BAKERY.source) == []
    assert [p.id for p in store.health().uncommitted] == [FERRY.id]

    store.put_article(FERRY, len(ferry))  # the next ingest commits it
    assert store.dense_search(vector("harbour ferry noon"), 1)[0].article_id == FERRY.id
    assert store.find_uncommitted() == [] and store.health().ok


def test_a_new_version_is_read_only_once_committed(store):
    old = write(store, FERRY)
    new_ferry = Article(
        source=FERRY.source, title=FERRY.title, text="The harbour ferry now leaves at one."
    )
    new = write(store, new_ferry, commit=False)
    texts = {p.chunk.text for p in store.dense_search(vector("harbour ferry leaves"), 5)}
    assert texts == {c.text for c in old}  # the old version, whole, until the new commits
    store.put_article(new_ferry, len(new))
    texts = {p.chunk.text for p in store.dense_search(vector("harbour ferry leaves"), 5)}
    assert texts == {c.text for c in new}
    assert {p.chunk.text for p in store.lexical_search("ferry", 5)} == {c.text for c in new}
    [stale] = store.health().uncommitted  # the old version's chunks, until removed
    assert (stale.id, stale.n_chunks) == (FERRY.id, 2)
    found = store.repair()
    assert [p.n_chunks for p in found.uncommitted] == [2]
    assert sorted(store.chunk_ids_of(FERRY.id)) == sorted(c.id for c in new)
    assert store.health().ok and store.article_info(FERRY.id).hash == new_ferry.hash


def test_an_incomplete_article_is_reported_and_removed_by_repair(store):
    write(store, BAKERY)
    write(store, FERRY, extra=1)  # its record expects 3 chunks; 2 are stored
    [incomplete] = store.health().incomplete
    assert (incomplete.id, incomplete.n_chunks, incomplete.expected) == (FERRY.id, 2, 3)
    found = store.repair()
    assert [p.id for p in found.incomplete] == [FERRY.id]
    assert store.article_info(FERRY.id) is None and store.chunk_ids_of(FERRY.id) == []
    assert store.health().ok and store.count_articles() == 1 and store.count_chunks() == 2


def test_delete_removes_the_record_and_every_chunk(store):
    write(store, FERRY)
    write(store, BAKERY)
    assert store.delete_article(FERRY.id) == 2
    assert store.article_info(FERRY.id) is None and store.article_text(FERRY.id) is None
    assert store.chunk_ids_of(FERRY.id) == []
    assert all(p.article_id == BAKERY.id for p in store.dense_search(vector("ferry"), 5))
    assert store.lexical_search("ferry", 5) == []
    assert not store.any_match(Filters(author="Ada Brown"))
    assert store.delete_article(FERRY.id) == 0  # again: nothing left, no error
    assert (store.count_articles(), store.count_chunks()) == (1, 2)


def test_dense_search_reaches_past_uncommitted_hits(store):
    far = Article(source="/news/far.txt", title="Weather", text="Rain is expected on Sunday.")
    write(store, far)
    for n in range(10):  # closer to the question, but never committed
        copy = Article(source=f"/news/copy{n}.txt", title="Ferry", text=f"Harbour ferry {n}.")
        write(store, copy, commit=False)
    [hit] = store.dense_search(vector("harbour ferry"), 1)
    assert hit.article_id == far.id


def test_lexical_search_reaches_past_a_few_uncommitted_hits(store):
    far = Article(source="/news/far.txt", title="Ferry", text="A ferry is a boat.")
    write(store, far)
    for n in range(3):
        copy = Article(source=f"/news/c{n}.txt", title="Ferry ferry", text=f"Ferry ferry {n}.")
        write(store, copy, commit=False)
    assert [p.article_id for p in store.lexical_search("ferry", 1)] == [far.id]


# ----- filters ---------------------------------------------------------------------------------
def test_filters_apply_inside_both_searches(store):
    for article in (FERRY, BAKERY, MILL):
        write(store, article)
    query = "harbour ferry noon"  # the ferry ranks first without filters
    cases = {
        Filters(source="example.org"): {FERRY.id},  # the site of its URL
        Filters(source="news.example.com"): {BAKERY.id},
        Filters(source=MILL.source): {MILL.id},  # the exact source
        Filters(since="2024-01-01"): {FERRY.id},
        Filters(until="2023-12-31"): {BAKERY.id},
        Filters(since="2023-01-01", until="2024-12-31"): {FERRY.id, BAKERY.id},
        Filters(author="Maria Kask"): {BAKERY.id},
        Filters(author="Maria Kask", since="2024-01-01"): set(),
    }
    for filters, expected in cases.items():
        best = store.dense_search(vector(query), 1, filters)  # not the ferry's top-1, filtered
        assert len(best) == min(1, len(expected)) and {p.article_id for p in best} <= expected
        assert {p.article_id for p in store.dense_search(vector(query), 10, filters)} == expected
        words = "the rye ferry bakery mill"
        lexical = {p.article_id for p in store.lexical_search(words, 10, filters)}
        assert lexical == expected, filters.describe()
        assert store.any_match(filters) is bool(expected)
    assert store.any_match(None) and store.any_match(Filters())
    assert len(store.dense_search(vector(query), 10, Filters())) == 6  # empty: the whole index


# ----- the embedder that built the collection -----------------------------------------------
def test_the_embedder_is_recorded_and_another_refused(store):
    store.check_embedder(EMBEDDER)  # empty and nothing recorded: fine, nothing written
    assert store.embedding_model() is None
    store.check_embedder(EMBEDDER, write=True)
    assert store.embedding_model() == EmbeddingModel("hash-64", 64)
    write(store, FERRY)
    other = HashEmbedder(64)
    other.name = "other-64"
    with pytest.raises(EmbedderMismatch, match="built with hash-64 \\(64 dims\\)"):
        store.check_embedder(other)
    store.check_embedder(EMBEDDER)  # the recorded one still passes
    store.delete_article(FERRY.id)
    store.check_embedder(other, write=True)  # emptied: a model of the same size may take over
    assert store.embedding_model() == EmbeddingModel("other-64", 64)


def test_vectors_from_before_records_set_the_dimension(store):
    write(store, FERRY)  # no embedder recorded (as collections made before records)
    with pytest.raises(EmbedderMismatch, match="an unrecorded model \\(64 dims\\)"):
        store.check_embedder(HashEmbedder(32), write=True)
    assert store.embedding_model() is None
    store.check_embedder(EMBEDDER, write=True)  # the stored vectors' size: adopted
    assert store.embedding_model() == EmbeddingModel("hash-64", 64)


# ----- callers ---------------------------------------------------------------------------------
def test_no_caller_reaches_past_the_protocol():
    """Outside the backends, a store is used only through ``Store``'s members: no getattr
    probing, no backend attribute (``store.chunks``, ``store.lexical``)."""
    members = {n for n in vars(Store) if not n.startswith("_")} | {"name", "settings"}
    found = []
    for layer in ("rag", "ingest", "ui"):
        for path in sorted((ROOT / layer).rglob("*.py")):
            if "backends" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in ("getattr", "hasattr")
                    and node.args
                    and "store" in ast.unparse(node.args[0])
                ):
                    found.append(f"{where} {ast.unparse(node)}")
                if (
                    isinstance(node, ast.Attribute)
                    and ast.unparse(node.value).endswith("store")
                    and node.attr not in members
                ):
                    found.append(f"{where} {ast.unparse(node)}")
    assert found == []
