"""An in-memory Store (``RAG_STORE=memory``): for tests and notebooks, nothing on disk.

It keeps the same contract as Chroma (``tests/rag/test_store_contract.py`` runs against
both): the same commit rule, metadata, health and embedder check (``rag.storage``), and
the same lexical index and filters (``rag.lexical`` on an in-memory SQLite database).
Stores opened with the same data directory and collection in one process share their
contents, so ``ingest(...)`` then ``answer(...)`` works; the contents end with the process.

>>> from rag.records import Article
>>> from rag.settings import Settings
>>> store = MemoryStore(Settings(home="/nonexistent/doc", store="memory"), "doctest")
>>> article = Article(source="a.txt", title="Ferries", text="The ferry leaves at noon.")
>>> chunk = Chunk("c1", article.id, article.text, 0, len(article.text), 0)
>>> store.upsert_chunks(article, [chunk], [[1.0, 0.0]])
>>> store.dense_search([1.0, 0.0], 1)          # not committed yet: never read for answers
[]
>>> store.put_article(article, 1)
>>> [(p.chunk.id, round(p.score, 3)) for p in store.dense_search([1.0, 0.0], 1)]
[('c1', 1.0)]
>>> [p.title for p in store.lexical_search("ferry noon", 1)]
['Ferries']
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Sequence

import numpy as np

from rag.lexical import Filters, LexicalIndex
from rag.protocols import Embedder
from rag.records import (
    Article,
    ArticleInfo,
    Chunk,
    EmbeddingModel,
    IndexHealth,
    PartialArticle,
    Passage,
    passage_from,
)
from rag.settings import Settings
from rag.storage import (
    article_metadata,
    check_embedder_record,
    chunk_metadata,
    health_from,
    info_from,
    is_committed,
    owners_without_record,
)


class _Collection:
    """One collection's contents, shared by every MemoryStore over it in this process."""

    def __init__(self):
        self.lock = threading.RLock()
        self.chunks: dict[str, tuple[Chunk, dict, np.ndarray]] = {}
        self.articles: dict[str, tuple[str, dict]] = {}  # id -> (text, record)
        self.lexical = LexicalIndex(None)
        self.revision = 0
        self.embedder: EmbeddingModel | None = None
        self.dimension: int | None = None  # fixed by the first vector, as in Chroma


_collections: dict[tuple[str, str], _Collection] = {}
_collections_lock = threading.Lock()


def _locked(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._data.lock:
            return method(self, *args, **kwargs)

    return wrapper


class MemoryStore:
    """The Store protocol over dictionaries, numpy and an in-memory SQLite FTS5 index."""

    def __init__(self, settings: Settings, collection: str | None = None):
        self.settings = settings
        self.name = collection or settings.collection
        self._key = (str(settings.home.absolute()), self.name)
        self._found: _Collection | None = None

    @property
    def _data(self) -> _Collection:
        """The collection's contents, made on first use (as Chroma makes its collection);
        ``exists`` and ``collections`` make nothing."""
        if self._found is None:
            with _collections_lock:
                self._found = _collections.setdefault(self._key, _Collection())
        return self._found

    def _written(self) -> None:
        self._data.revision += 1

    def _committed(self, chunk_id: str, text: str, meta: dict) -> bool:
        record = self._data.articles.get(meta.get("article_id", ""))
        return is_committed(chunk_id, text, meta, record[1].get("hash") if record else None)

    # ----- search ---------------------------------------------------------------------
    @_locked
    def dense_search(
        self, embedding: Sequence[float], k: int, filters: Filters | None = None
    ) -> list[Passage]:
        """Cosine similarity against every stored vector within ``filters``."""
        chunks = self._data.chunks
        ids = self._data.lexical.ids_within(filters) if filters else list(chunks)
        if not ids or k <= 0:
            return []
        matrix = np.stack([chunks[cid][2] for cid in ids])
        query = np.asarray(embedding, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
        similarity = matrix @ query / np.where(norms == 0, 1.0, norms)
        passages: list[Passage] = []
        for i in np.argsort(-similarity, kind="stable"):
            chunk, meta, _ = chunks[ids[i]]
            if self._committed(chunk.id, chunk.text, meta):
                passages.append(passage_from(chunk, meta, float(similarity[i]), len(passages)))
                if len(passages) == k:
                    break
        return passages

    @_locked
    def lexical_search(self, query: str, k: int, filters: Filters | None = None) -> list[Passage]:
        n = k
        while True:
            hits = self._data.lexical.search(query, n, filters)
            chunks = self._data.chunks
            kept = [
                h for h in hits if self._committed(h.chunk.id, h.chunk.text, chunks[h.chunk.id][1])
            ]
            if len(kept) >= k or len(hits) < n:
                break
            n *= 4
        return [passage_from(h.chunk, h.meta, h.score, rank) for rank, h in enumerate(kept[:k])]

    @_locked
    def any_match(self, filters: Filters | None) -> bool:
        return self._data.lexical.any_match(filters)

    # ----- articles -------------------------------------------------------------------
    @_locked
    def article_info(self, article_id: str) -> ArticleInfo | None:
        record = self._data.articles.get(article_id)
        return info_from(article_id, record[1]) if record else None

    @_locked
    def article_text(self, article_id: str) -> str | None:
        record = self._data.articles.get(article_id)
        return record[0] if record else None

    @_locked
    def list_articles(self, limit: int | None = None) -> list[ArticleInfo]:
        infos = [info_from(aid, meta) for aid, (_, meta) in self._data.articles.items()]
        return sorted(infos, key=lambda info: info.source)[:limit]

    @_locked
    def count_articles(self) -> int:
        return len(self._data.articles)

    @_locked
    def find_articles(self, key: str) -> list[ArticleInfo]:
        found = [
            info_from(aid, meta)
            for aid, (_, meta) in self._data.articles.items()
            if key in (aid, meta.get("source"), meta.get("url"), meta.get("title"))
        ]
        return sorted(found, key=lambda info: info.source)

    def put_article(self, article: Article, n_chunks: int) -> None:
        self.put_articles([(article, n_chunks)])

    @_locked
    def put_articles(self, items: Sequence[tuple[Article, int]]) -> None:
        for article, n_chunks in items:
            self._data.articles[article.id] = (article.text, article_metadata(article, n_chunks))
        if items:
            self._written()

    @_locked
    def delete_article(self, article_id: str) -> int:
        ids = self.chunk_ids_of(article_id)
        if self._data.articles.pop(article_id, None) is not None:
            self._written()
        self.delete_chunks(ids)
        return len(ids)

    # ----- chunks ---------------------------------------------------------------------
    @_locked
    def chunk_ids_of(self, article_id: str) -> list[str]:
        return [cid for cid, (c, _, _) in self._data.chunks.items() if c.article_id == article_id]

    @_locked
    def chunk_ids_by_article(self, article_ids: Sequence[str]) -> dict[str, list[str]]:
        wanted = set(article_ids)
        found: dict[str, list[str]] = {}
        for cid, (chunk, _, _) in self._data.chunks.items():
            if chunk.article_id in wanted:
                found.setdefault(chunk.article_id, []).append(cid)
        return found

    @_locked
    def existing_chunk_ids(self, ids: Sequence[str]) -> set[str]:
        return {cid for cid in ids if cid in self._data.chunks}

    def upsert_chunks(
        self, article: Article, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]]
    ) -> None:
        self.upsert_many([(article, chunks, embeddings)])

    @_locked
    def upsert_many(
        self, items: Sequence[tuple[Article, Sequence[Chunk], Sequence[Sequence[float]]]]
    ) -> None:
        rows = []
        for article, chunks, embeddings in items:
            for chunk, vector in zip(chunks, embeddings, strict=True):
                array = np.asarray(vector, dtype=np.float32)
                dimension = self._data.dimension or len(array)
                if len(array) != dimension:
                    raise ValueError(
                        f"collection {self.name!r} holds {dimension}-dimensional vectors; "
                        f"got {len(array)} for chunk {chunk.id}"
                    )
                self._data.dimension = dimension
                rows.append((chunk, chunk_metadata(article, chunk), array))
        if not rows:
            return
        for chunk, meta, array in rows:
            self._data.chunks[chunk.id] = (chunk, meta, array)
        self._data.lexical.upsert([(chunk, meta) for chunk, meta, _ in rows])
        self._written()

    @_locked
    def delete_chunks(self, ids: Iterable[str]) -> None:
        gone = [cid for cid in ids if self._data.chunks.pop(cid, None) is not None]
        if gone:
            self._data.lexical.delete_chunks(gone)
            self._written()

    @_locked
    def count_chunks(self) -> int:
        return len(self._data.chunks)

    @_locked
    def all_chunks(self, committed_only: bool = True) -> list[tuple[Chunk, dict]]:
        return [
            (chunk, meta)
            for chunk, meta, _ in self._data.chunks.values()
            if not committed_only or self._committed(chunk.id, chunk.text, meta)
        ]

    @_locked
    def find_uncommitted(self, source: str | None = None) -> list[PartialArticle]:
        metas = [
            meta
            for _, meta, _ in self._data.chunks.values()
            if source is None or meta.get("source") == source
        ]
        return owners_without_record(metas, lambda ids: set(ids) & set(self._data.articles))

    # ----- health ---------------------------------------------------------------------
    def _flags(self) -> list[tuple[str, dict, bool]]:
        return [
            (chunk.id, meta, self._committed(chunk.id, chunk.text, meta))
            for chunk, meta, _ in self._data.chunks.values()
        ]

    @_locked
    def health(self) -> IndexHealth:
        return health_from(((meta, ok) for _, meta, ok in self._flags()), self.list_articles())

    @_locked
    def repair(self) -> IndexHealth:
        found = self.health()
        broken = {p.id for p in found.incomplete}
        for partial in found.incomplete:
            self.delete_article(partial.id)
        stale = [
            cid
            for cid, meta, ok in self._flags()
            if not ok and meta.get("article_id", "") not in broken
        ]
        self.delete_chunks(stale)
        return found

    # ----- the index as a whole -------------------------------------------------------
    def revision(self) -> str:
        return str(self._data.revision)

    def exists(self) -> bool:
        with _collections_lock:
            return self._key in _collections

    def collections(self) -> list[str]:
        """The collections of this data directory in this process."""
        with _collections_lock:
            return sorted(name for home, name in _collections if home == self._key[0])

    def location(self) -> str:
        return f"memory (this process), {self._key[0]}"

    # ----- the embedder that built the collection -------------------------------------
    def embedding_model(self) -> EmbeddingModel | None:
        return self._data.embedder

    @_locked
    def check_embedder(self, embedder: Embedder, *, write: bool = False) -> None:
        used = EmbeddingModel(embedder.name, int(embedder.dimension))
        recorded = self._data.embedder
        check_embedder_record(
            self.name, used, recorded, len(self._data.chunks), lambda: self._data.dimension
        )
        if recorded != used and write:
            self._data.embedder = used


def forget(settings: Settings | None = None) -> None:
    """Drop the contents of every in-memory collection (of one data directory)."""
    with _collections_lock:
        for key in list(_collections):
            if settings is None or key[0] == str(settings.home.absolute()):
                del _collections[key]


def create(settings: Settings, collection: str | None = None) -> MemoryStore:
    return MemoryStore(settings, collection)
