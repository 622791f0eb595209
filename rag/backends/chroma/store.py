"""The Chroma Store: chunks with their embeddings, and each article's text and record.

Two collections live side by side: ``<name>`` holds chunks and their embeddings;
``<name>__articles`` holds each article's cleaned text and record (its commit marker,
``commits``). The lexical index and change counter live in a SQLite file (``mirror``); the
client is shared per process and reopened after other processes' writes (``clients``); on a
server, failures become one line naming it (``server``); the collection records the embedder
that built it (``embedder_record``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rag.backends.chroma import clients, commits, embedder_record, mirror
from rag.backends.chroma.server import server_errors
from rag.faults import kill_point
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
    chunk_from,
    passage_from,
)
from rag.settings import Settings
from rag.storage import (
    article_metadata,
    check_embedder_record,
    chunk_metadata,
    info_from,
    owners_without_record,
)

_ARTICLE_SUFFIX = "__articles"


class ChromaStore:
    """Reads and writes one named collection. Construction is cheap; Chroma opens on first use."""

    def __init__(self, settings: Settings, collection: str | None = None):
        self.settings = settings
        self.name = collection or settings.collection
        self._epoch = -1
        self._collections: tuple | None = None
        self._embedder_ok: EmbeddingModel | None = None  # checked against the record
        self._counts: dict[str, tuple[str, int]] = {}  # Chroma's count() reads every row

    def _open_collections(self, refresh: bool = False) -> tuple:
        handle = clients.handle(self.settings, refresh)
        if self._collections is None or self._epoch != handle.epoch:
            chunks = handle.client.get_or_create_collection(
                self.name, metadata={"hnsw:space": "cosine"}, embedding_function=None
            )
            articles = handle.client.get_or_create_collection(
                self.name + _ARTICLE_SUFFIX, embedding_function=None
            )
            self._collections, self._epoch = (chunks, articles), handle.epoch
        return self._collections

    @property
    def client(self):
        return clients.handle(self.settings).client

    @property
    def chunks(self):
        """The Chroma collection of chunks (this backend's own; callers use the Store's
        methods)."""
        return self._open_collections()[0]

    @property
    def articles(self):
        """The Chroma collection of article texts and records."""
        return self._open_collections()[1]

    @server_errors
    def refresh(self) -> None:
        """Reopen the client if another process committed since it was opened (O(1))."""
        self._open_collections(refresh=True)

    @property
    def lexical(self) -> LexicalIndex:
        """The collection's lexical index (built once from Chroma for an older data dir)."""
        return mirror.lexical_index(self)

    def revision(self) -> str:
        """A cheap token that changes whenever stored content changes, in any process
        (one SQLite row, whatever the archive's size)."""
        return str(self.lexical.revision())

    def _written(self) -> None:
        """Tell this process's readers (the revision) and other processes (the generation
        file) that stored content changed."""
        self.lexical.bump()
        clients.bump_generation(self.settings)

    # ----- articles -----------------------------------------------------------------
    @server_errors
    def article_info(self, article_id: str) -> ArticleInfo | None:
        got = self.articles.get(ids=[article_id], include=["metadatas"])
        if not got["ids"]:
            return None
        return info_from(got["ids"][0], got["metadatas"][0])

    @server_errors
    def article_text(self, article_id: str) -> str | None:
        got = self.articles.get(ids=[article_id], include=["documents"])
        return got["documents"][0] if got["ids"] else None

    def iter_articles(self, where: dict | None = None):
        """Every article record (or those matching ``where``), a page at a time."""
        for got in clients.pages(self.articles, where, ["metadatas"]):
            yield from (info_from(i, m) for i, m in zip(got["ids"], got["metadatas"], strict=True))

    def _counted(self, what: str, collection) -> int:
        """``collection.count()``, remembered until the revision changes (every write, in
        any process, bumps it): Chroma counts by reading every row."""
        revision = self.revision()
        cached = self._counts.get(what)
        if cached is None or cached[0] != revision:
            cached = self._counts[what] = (revision, collection.count())
        return cached[1]

    @server_errors
    def count_articles(self) -> int:
        return self._counted("articles", self.articles)

    @server_errors
    def list_articles(self, limit: int | None = None) -> list[ArticleInfo]:
        """Every article by source, or (``limit``) the first ``limit`` stored, by source."""
        if limit is None:
            found = list(self.iter_articles())
        else:
            got = self.articles.get(include=["metadatas"], limit=min(limit, clients.PAGE))
            found = [info_from(i, m) for i, m in zip(got["ids"], got["metadatas"], strict=True)]
        return sorted(found, key=lambda info: info.source)

    @server_errors
    def find_articles(self, key: str) -> list[ArticleInfo]:
        """Articles whose id, source, url or title equals ``key`` (looked up, not scanned)."""
        where = {"$or": [{"source": key}, {"url": key}, {"title": key}]}
        found = {info.id: info for info in self.iter_articles(where)}
        by_id = self.article_info(key)
        if by_id is not None:
            found[by_id.id] = by_id
        return sorted(found.values(), key=lambda info: info.source)

    def put_article(self, article: Article, n_chunks: int) -> None:
        """Write the article record last: it marks the article's chunks as complete."""
        self.put_articles([(article, n_chunks)])

    @server_errors
    def put_articles(self, items: Sequence[tuple[Article, int]]) -> None:
        """The records of several articles (each written after all its chunks), in one write."""
        if not items:
            return
        self.articles.upsert(
            ids=[article.id for article, _ in items],
            documents=[article.text for article, _ in items],
            metadatas=[article_metadata(article, n) for article, n in items],
            embeddings=[[0.0]] * len(items),
        )
        self._written()

    @server_errors
    def delete_article(self, article_id: str) -> int:
        """Remove an article and all its chunks; returns the number of chunks removed.

        The record goes first: a kill part-way leaves only uncommitted chunks, which are
        never retrieved and which ``repair`` (or deleting again) removes.
        """
        ids = self.chunk_ids_of(article_id)
        self.articles.delete(ids=[article_id])
        clients.bump_generation(self.settings)
        kill_point("delete:record-gone")
        self.delete_chunks(ids)
        self.lexical.delete_article(article_id)
        return len(ids)

    @server_errors
    def find_uncommitted(self, source: str | None = None) -> list[PartialArticle]:
        """Articles with chunks stored (from ``source``, or from anywhere) but no record: an
        interrupted ingest or delete."""
        where = {"source": source} if source is not None else None
        pages = clients.pages(self.chunks, where, ["metadatas"])
        metas = (meta for got in pages for meta in got["metadatas"])

        def recorded(ids: list[str]) -> set[str]:
            found: set[str] = set()
            for i in range(0, len(ids), clients.BATCH):
                part = ids[i : i + clients.BATCH]
                found.update(self.articles.get(ids=part, include=[])["ids"])
            return found

        return owners_without_record(metas, recorded)

    # ----- chunks -------------------------------------------------------------------
    @server_errors
    def chunk_ids_of(self, article_id: str) -> list[str]:
        pages = clients.pages(self.chunks, {"article_id": article_id})
        return [cid for got in pages for cid in got["ids"]]

    @server_errors
    def chunk_ids_by_article(self, article_ids: Sequence[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        ids = list(dict.fromkeys(article_ids))
        for i in range(0, len(ids), clients.BATCH):
            where = {"article_id": {"$in": ids[i : i + clients.BATCH]}}
            for got in clients.pages(self.chunks, where, ["metadatas"]):
                for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                    found.setdefault(meta.get("article_id", ""), []).append(cid)
        return found

    @server_errors
    def existing_chunk_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), clients.BATCH):
            part = list(ids[i : i + clients.BATCH])
            found.update(self.chunks.get(ids=part, include=[])["ids"])
        # stored in both Chroma and the lexical index: a chunk missing from either is rewritten
        return found & self.lexical.existing(list(found)) if found else found

    def upsert_chunks(
        self, article: Article, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]]
    ) -> None:
        self.upsert_many([(article, chunks, embeddings)])

    @server_errors
    def upsert_many(
        self, items: Sequence[tuple[Article, Sequence[Chunk], Sequence[Sequence[float]]]]
    ) -> None:
        """One Chroma write and one lexical transaction for all of them: Chroma's cost is
        mostly per call, so many short articles are written together."""
        rows = [
            (c, chunk_metadata(article, c), e)
            for article, chunks, embeddings in items
            for c, e in zip(chunks, embeddings, strict=True)
        ]
        if not rows:
            return
        lexical = self.lexical  # opened (and an older index backfilled) before this write
        self.chunks.upsert(
            ids=[c.id for c, _, _ in rows],
            documents=[c.text for c, _, _ in rows],
            metadatas=[m for _, m, _ in rows],
            embeddings=[list(map(float, e)) for _, _, e in rows],
        )
        lexical.upsert([(c, m) for c, m, _ in rows])

    @server_errors
    def delete_chunks(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), clients.BATCH):
            self.chunks.delete(ids=ids[i : i + clients.BATCH])
            kill_point("delete:chunk-batch")
        if ids:
            self.lexical.delete_chunks(ids)
            clients.bump_generation(self.settings)

    @server_errors
    def count_chunks(self) -> int:
        return self._counted("chunks", self.chunks)

    @server_errors
    def all_chunks(self, committed_only: bool = True) -> list[tuple[Chunk, dict]]:
        """Every committed chunk with its metadata; with ``committed_only=False`` also the
        chunks of interrupted ingests and deletes."""
        rows = list(commits.scan(self, ["documents", "metadatas"]))
        if committed_only:
            rows = commits.committed_only(self, rows)
        return [(chunk_from(cid, text, meta), meta) for cid, text, meta in rows]

    # ----- search -------------------------------------------------------------------
    @server_errors
    def dense_search(
        self, embedding: Sequence[float], k: int, filters: Filters | None = None
    ) -> list[Passage]:
        """Nearest committed chunks by cosine similarity (score = 1 - cosine distance), within
        ``filters`` (a Chroma ``where`` on chunk metadata, applied inside the search).

        Uncommitted hits are dropped; if that leaves fewer than ``k``, the search is widened
        (x4, at most twice), which only happens while an ingest or delete is part-way.
        """
        self.refresh()
        total = self.count_chunks()
        if total == 0:
            return []
        vector = [list(map(float, embedding))]
        where = filters.chroma_where() if filters else None
        n = min(k, total)
        while True:
            got = self.chunks.query(
                query_embeddings=vector,
                n_results=n,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
            fields = ("ids", "documents", "metadatas", "distances")
            rows = list(zip(*(got[f][0] for f in fields), strict=True))
            hits = commits.committed_only(self, rows, key=lambda row: row[:3])
            if len(hits) >= k or n >= total or n >= 16 * k:
                break
            n = min(4 * n, total)
        return [
            passage_from(chunk_from(cid, text, meta), meta, 1.0 - dist, rank)
            for rank, (cid, text, meta, dist) in enumerate(hits[:k])
        ]

    def lexical_search(self, query: str, k: int, filters: Filters | None = None) -> list[Passage]:
        """The ``k`` best committed chunks by BM25 (SQLite FTS5), within ``filters`` (an SQL
        WHERE). Uncommitted hits are dropped as in ``dense_search`` (widened once if needed)."""
        n = k
        while True:
            hits = self.lexical.search(query, n, filters)
            kept = commits.committed_only(
                self, hits, key=lambda h: (h.chunk.id, h.chunk.text, h.meta)
            )
            if len(kept) >= k or len(hits) < n or n >= 4 * k:
                break
            n *= 4
        return [passage_from(h.chunk, h.meta, h.score, rank) for rank, h in enumerate(kept[:k])]

    def any_match(self, filters: Filters | None) -> bool:
        """Whether any stored chunk lies within the filters (an indexed lookup)."""
        return self.lexical.any_match(filters)

    # ----- health -------------------------------------------------------------------
    @server_errors
    def health(self) -> IndexHealth:
        """Partial state left by an interrupted ingest or delete (reads every chunk's
        metadata: for ``rag status``, not per question)."""
        return commits.health(self)

    @server_errors
    def repair(self) -> IndexHealth:
        """Remove what ``health`` found; returns it. The caller holds the write lock."""
        return commits.repair(self)

    @server_errors
    def exists(self) -> bool:
        """Whether this collection has been created; asking creates nothing (read-only
        commands leave a fresh home as it was)."""
        if self._collections is not None:
            return True
        if not self.settings.chroma_server and not self.settings.chroma_path.exists():
            return False
        client = self.client
        from chromadb.errors import NotFoundError

        try:
            client.get_collection(self.name, embedding_function=None)
        except (NotFoundError, ValueError):
            return False
        return True

    @server_errors
    def collections(self) -> list[str]:
        """The collections beside this one (its ``__articles`` companions not listed)."""
        if not self.settings.chroma_server and not self.settings.chroma_path.exists():
            return []
        names = (c.name for c in self.client.list_collections())
        return sorted(n for n in names if not n.endswith(_ARTICLE_SUFFIX))

    def location(self) -> str:
        server = self.settings.chroma_server
        if server is None:
            return str(self.settings.chroma_path.resolve())
        s = self.settings
        if (s.chroma_tenant, s.chroma_database) == ("default_tenant", "default_database"):
            return server
        return f"{server} (tenant {s.chroma_tenant}, database {s.chroma_database})"

    # ----- the embedder that built the collection -------------------------------------
    @server_errors
    def embedding_model(self) -> EmbeddingModel | None:
        """Read afresh each time: another process may have recorded it meanwhile."""
        return embedder_record.recorded_model(self)

    @server_errors
    def check_embedder(self, embedder: Embedder, *, write: bool = False) -> None:
        used = EmbeddingModel(embedder.name, int(embedder.dimension))
        if self._embedder_ok == used:
            return  # once per store: the record does not change under a collection in use
        recorded = self.embedding_model()
        if recorded == used:
            self._embedder_ok = used
            return
        check_embedder_record(
            self.name,
            used,
            recorded,
            self.count_chunks(),
            lambda: embedder_record.stored_dimension(self),
        )
        if write:  # first write, an empty collection, or one from before records: adopt
            embedder_record.record(self, used)
            self._embedder_ok = used


def create(settings: Settings, collection: str | None = None) -> ChromaStore:
    return ChromaStore(settings, collection)
