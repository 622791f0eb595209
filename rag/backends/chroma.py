"""Chroma-backed storage of chunks (with embeddings) and of full article texts.

Two collections live side by side: ``<name>`` holds chunks and their embeddings;
``<name>__articles`` holds each article's cleaned text and metadata. An article's
record is written *after* its chunks, so it doubles as the commit marker of an ingest.

Only committed chunks are ever read for answers: a chunk counts when its article's record
exists with the hash the chunk was made from (``article_hash`` in its metadata; for chunks
stored before that field, the hash is inside the chunk's id). Retrieval checks just the
hits' article ids, so the check costs one lookup of at most ``k`` records per question.

Embedded mode: another process's writes are seen through ``RAG_HOME/index-generation``,
replaced by every commit and delete. A reader stats it (O(1)) before each search and reopens
the Chroma client when it changed: the embedded client otherwise keeps serving a stale
in-memory vector index (chroma-core/chroma#3769: deletes are seen, additions are not).

Beside them, under ``RAG_HOME/lexical/``, a SQLite FTS5 file per collection
(``rag.lexical``) holds the lexical index and the collection's change counter
(``revision()``, one row); chunks are written there in the same call that writes them to
Chroma, before the article's commit marker. Every ``get`` is paged (at most ``_PAGE`` ids a
call: Chroma 1.5 fails above ~32,000 with "too many SQL variables").
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.faults import kill_point
from rag.lexical import Filters, LexicalIndex, filter_metadata
from rag.protocols import Embedder, EmbedderMismatch, ServerUnavailable
from rag.records import (
    Article,
    ArticleInfo,
    Chunk,
    EmbeddingModel,
    IndexHealth,
    PartialArticle,
    Passage,
    chunk_from,
    chunk_id_for,
    passage_from,
)
from rag.settings import Settings

_ARTICLE_SUFFIX = "__articles"
_BATCH = 1000
# Collection metadata recording the embedder that built the chunks.
_EMBEDDER_KEY = "rag_embedder"
_DIMENSION_KEY = "rag_embedding_dimension"
_PAGE = 5000
_lexical: dict[str, LexicalIndex] = {}
# A replaced client is stopped this long after: no search still uses it by then, and its
# vector index (the largest part of a reader's memory) is freed, not kept until the next one.
_RETIRE_SECONDS = 10.0


@dataclass
class _Handle:
    client: object
    epoch: int = 0
    seen: tuple | None = None  # the generation file's stamp when the client was opened


_clients: dict[tuple, _Handle] = {}
_clients_lock = threading.Lock()


class ChromaServerError(ServerUnavailable):
    """The Chroma server cannot be used; the message is one line naming its URL."""


def _key(settings: Settings) -> tuple:
    """One client per data directory (or server, tenant, database and token) and process."""
    server = settings.chroma_server
    if server:
        token = settings.chroma_token.get_secret_value() if settings.chroma_token else None
        return (
            "http",
            server,
            settings.chroma_tenant,
            settings.chroma_database,
            token,
            settings.chroma_token_header,
        )
    return ("path", str(settings.chroma_path.resolve()))


def generation_path(settings: Settings):
    return settings.home / "index-generation"


def _stamp(path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _open(settings: Settings):
    from rag.backends.quick_import import import_chromadb

    chromadb = import_chromadb()
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_server:
        return _http_client(settings, settings.chroma_server, chroma_settings)
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def _reopen(settings: Settings, old) -> object:
    """A fresh embedded client over the same directory. Chroma shares one System per path
    within a process, so the old one is taken out of its cache and stopped
    ``_RETIRE_SECONDS`` later by a timer."""
    from chromadb.api.shared_system_client import SharedSystemClient

    identifier = getattr(old, "_identifier", None)
    system = SharedSystemClient._identifier_to_system.pop(identifier, None)
    SharedSystemClient._identifier_to_refcount.pop(identifier, None)
    if system is not None:
        timer = threading.Timer(_RETIRE_SECONDS, _stop, args=(system,))
        timer.daemon = True
        timer.start()
    return _open(settings)


def _stop(system) -> None:
    with contextlib.suppress(Exception):  # best effort: the new client does not need it
        system.stop()


def _handle(settings: Settings, refresh: bool = False) -> _Handle:
    key = _key(settings)
    with _clients_lock:
        handle = _clients.get(key)
        if handle is None:
            seen = None if settings.chroma_server else _stamp(generation_path(settings))
            handle = _clients[key] = _Handle(_open(settings), seen=seen)
        elif refresh and not settings.chroma_server:
            stamp = _stamp(generation_path(settings))
            if stamp != handle.seen:
                handle.client = _reopen(settings, handle.client)
                handle.epoch += 1
                handle.seen = stamp
        return handle


def chroma_client(settings: Settings):
    """One Chroma client per data directory (or server) and process."""
    return _handle(settings).client


def bump_generation(settings: Settings) -> None:
    """Tell other processes the stored content changed (embedded mode only)."""
    if settings.chroma_server:
        return
    path = generation_path(settings)
    before = _stamp(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(f"{time.time_ns()} {os.getpid()}\n")
    os.replace(tmp, path)  # a new inode: readers' stat sees the change at once
    with _clients_lock:
        handle = _clients.get(_key(settings))
        if handle is not None and handle.seen == before:
            handle.seen = _stamp(path)  # our own write: this process's client is current


def _headers(settings: Settings) -> dict[str, str]:
    if settings.chroma_token is None:
        return {}
    token = settings.chroma_token.get_secret_value()
    if settings.chroma_token_header == "Authorization":
        return {"Authorization": f"Bearer {token}"}
    return {"X-Chroma-Token": token}


def _http_client(settings: Settings, server: str, chroma_settings):
    """A client of the server at ``server``, after checking it answers and lets us in; the
    database is created when the tenant has none of that name."""
    import chromadb
    from chromadb.errors import NotFoundError

    headers = _headers(settings)
    _preflight(server, headers)
    options = dict(
        host=server,
        ssl=server.startswith("https://"),
        headers=headers or None,
        settings=chroma_settings,
        tenant=settings.chroma_tenant,
    )
    try:
        return chromadb.HttpClient(**options, database=settings.chroma_database)
    except NotFoundError as exc:
        if "database" not in str(exc).lower():
            raise ChromaServerError(
                f"Chroma server {server}: tenant {settings.chroma_tenant!r} not found "
                "(RAG_CHROMA_TENANT)"
            ) from None
    admin = chromadb.AdminClient(_admin_settings(server, headers, chroma_settings))
    admin.create_database(settings.chroma_database, tenant=settings.chroma_tenant)
    return chromadb.HttpClient(**options, database=settings.chroma_database)


def _admin_settings(server: str, headers: dict, base):
    """chromadb settings of an admin client for ``server`` (as HttpClient sets them)."""
    admin = base.model_copy()
    admin.chroma_api_impl = "chromadb.api.fastapi.FastAPI"
    admin.chroma_server_host = server
    admin.chroma_server_ssl_enabled = server.startswith("https://")
    admin.chroma_server_headers = headers or None
    return admin


def _preflight(server: str, headers: dict[str, str], timeout: float = 10.0) -> None:
    """One request that tells the usual failures apart, as one line naming the URL."""
    import httpx

    try:
        response = httpx.get(f"{server}/api/v2/auth/identity", headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ChromaServerError(f"Chroma server {server}: {_transport_cause(exc)}") from None
    if response.status_code in (401, 403):
        raise ChromaServerError(
            f"Chroma server {server}: HTTP {response.status_code}, not authorised "
            "(check RAG_CHROMA_TOKEN and RAG_CHROMA_TOKEN_HEADER)"
        )
    if response.status_code == 404:
        raise ChromaServerError(
            f"Chroma server {server}: HTTP 404, no Chroma 1.x API there (check RAG_CHROMA_URL)"
        )
    if response.status_code >= 400:
        raise ChromaServerError(
            f"Chroma server {server}: HTTP {response.status_code} "
            f"({' '.join(response.text.split())[:200]})"
        )


def _transport_cause(exc: BaseException) -> str:
    import httpx

    detail = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return f"cannot connect ({detail}); is the server running?"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer in time ({detail})"
    return f"{type(exc).__name__}: {detail}"


def _server_errors(method):
    """On a server, turn a lost connection (or chromadb's wording of it) into one line
    naming the URL."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        server = self.settings.chroma_server
        if server is None:
            return method(self, *args, **kwargs)
        try:
            return method(self, *args, **kwargs)
        except (ChromaServerError, EmbedderMismatch):
            raise
        except Exception as exc:
            cause = _server_cause(exc)
            if cause is None:
                raise
            raise ChromaServerError(f"Chroma server {server}: {cause}") from exc

    return wrapper


def _server_cause(exc: BaseException) -> str | None:
    import httpx
    from chromadb.errors import ChromaAuthError, ChromaError

    seen = exc
    while seen is not None:
        if isinstance(seen, httpx.HTTPError):
            return _transport_cause(seen)
        if isinstance(seen, ChromaAuthError):
            return "not authorised (check RAG_CHROMA_TOKEN)"
        if isinstance(seen, ChromaError):
            return None  # an answer from the server: not a connection problem
        if "Could not connect to a Chroma server" in str(seen):
            return "cannot connect; is the server running?"
        seen = seen.__cause__ or seen.__context__
    return None


def _pages(collection, where: dict | None = None, include: list[str] | None = None):
    """``collection.get`` results ``_PAGE`` records at a time (one unpaged get of more than
    about 32,000 fails in Chroma: too many SQL variables)."""
    offset = 0
    while True:
        got = collection.get(where=where, include=include or [], limit=_PAGE, offset=offset)
        yield got
        if len(got["ids"]) < _PAGE:
            return
        offset += _PAGE


def _clean_meta(meta: dict) -> dict:
    """Chroma metadata values cannot be None."""
    return {k: v for k, v in meta.items() if v is not None}


def is_committed(chunk_id: str, text: str, meta: dict, article_hash: str | None) -> bool:
    """Whether a stored chunk belongs to its article's committed version (``article_hash``,
    None when the article has no record)."""
    if not article_hash:
        return False
    if "article_hash" in meta:
        return meta["article_hash"] == article_hash
    start, key = int(meta.get("start", -1)), f"{meta.get('article_id', '')}:{article_hash}"
    # the id is keyed by article id and hash (by the hash alone for chunks stored earlier)
    return (
        chunk_id_for(key, start, text) == chunk_id
        or chunk_id_for(article_hash, start, text) == chunk_id
    )


def lexical_path(settings: Settings, collection: str) -> Path:
    """The collection's lexical index file: beside the Chroma directory, or, with a Chroma
    server, a local file per server and collection."""
    folder = settings.home / "lexical"
    if settings.chroma_server:
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", settings.chroma_server).strip("_")
        folder = folder / f"{name}-{settings.chroma_tenant}-{settings.chroma_database}"
    return folder / f"{collection}.sqlite"


def _chunk_meta(article: Article, chunk: Chunk) -> dict:
    return {
        "article_id": article.id,
        "source": article.source,
        "title": article.title,
        "date": article.date,
        "start": chunk.start,
        "end": chunk.end,
        "index": chunk.index,
        "article_hash": article.hash,
        **filter_metadata(article.source, article.url, article.date, article.author),
    }


def _info_from(article_id: str, meta: dict) -> ArticleInfo:
    return ArticleInfo(
        id=article_id,
        source=meta.get("source", ""),
        title=meta.get("title", ""),
        date=meta.get("date"),
        author=meta.get("author"),
        url=meta.get("url"),
        hash=meta.get("hash", ""),
        n_chunks=int(meta.get("n_chunks", 0)),
    )


class ChromaStore:
    """Reads and writes one named collection. Construction is cheap; Chroma opens on first use."""

    def __init__(self, settings: Settings | None = None, collection: str | None = None):
        self.settings = settings or Settings()
        self.name = collection or self.settings.collection
        self._epoch = -1
        self._collections: tuple | None = None
        self._embedder_ok: EmbeddingModel | None = None  # checked against the record
        self._counts: dict[str, tuple[str, int]] = {}  # Chroma's count() reads every row

    def _open_collections(self, refresh: bool = False) -> tuple:
        handle = _handle(self.settings, refresh)
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
        return _handle(self.settings).client

    @property
    def chunks(self):
        return self._open_collections()[0]

    @property
    def articles(self):
        return self._open_collections()[1]

    @_server_errors
    def refresh(self) -> None:
        """Reopen the client if another process committed since it was opened (O(1))."""
        self._open_collections(refresh=True)

    # ----- lexical index and change counter -----------------------------------------
    @property
    def lexical(self) -> LexicalIndex:
        """The collection's lexical index (built once from Chroma for an older data dir)."""
        path = str(lexical_path(self.settings, self.name).resolve())
        with _clients_lock:
            index = _lexical.get(path)
            if index is None:
                index = _lexical[path] = LexicalIndex(Path(path))
        if not index.ready:
            if index.get_flag("backfilled") is None:
                self._backfill(index)
            index.ready = True
        return index

    def _backfill(self, index: LexicalIndex) -> None:
        """Index every stored chunk once (an index made before the lexical file existed);
        also gives old chunks the filter metadata (site, day, author) from their article."""
        db = index.db
        db.execute("BEGIN IMMEDIATE")  # one process backfills; the others wait, then skip
        try:
            if index.get_flag("backfilled") is not None:
                db.execute("COMMIT")
                return
            total = self.chunks.count() if self.exists() else 0
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        started = time.perf_counter()
        if total:
            print(
                f"lexical index: indexing the {total} stored chunks of {self.name!r} "
                "once (made before the lexical index existed)…",
                file=sys.stderr,
            )
        infos = {info.id: info for info in self._iter_articles()} if total else {}
        for offset in range(0, total, _PAGE):
            got = self.chunks.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
            rows, fix_ids, fix_metas = [], [], []
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                info = infos.get(meta.get("article_id"))
                if info is not None and "day" not in meta and "site" not in meta:
                    extra = filter_metadata(info.source, info.url, info.date, info.author)
                    extra = {k: v for k, v in extra.items() if v is not None}
                    if extra:
                        meta = {**meta, **extra}
                        fix_ids.append(cid)
                        fix_metas.append(meta)
                rows.append((chunk_from(cid, text, meta), meta))
            index.upsert(rows)
            if fix_ids:
                self.chunks.update(ids=fix_ids, metadatas=fix_metas)
        db.execute("BEGIN IMMEDIATE")
        index.set_flag("backfilled", int(time.time()))
        db.execute("COMMIT")
        if total:
            print(
                f"lexical index: {total} chunks indexed in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )

    def revision(self) -> str:
        """A cheap token that changes whenever stored content changes, in any process
        (one SQLite row, whatever the archive's size)."""
        return str(self.lexical.revision())

    # ----- articles -----------------------------------------------------------------
    @_server_errors
    def article_info(self, article_id: str) -> ArticleInfo | None:
        got = self.articles.get(ids=[article_id], include=["metadatas"])
        if not got["ids"]:
            return None
        return _info_from(got["ids"][0], got["metadatas"][0])

    @_server_errors
    def article_text(self, article_id: str) -> str | None:
        got = self.articles.get(ids=[article_id], include=["documents"])
        return got["documents"][0] if got["ids"] else None

    def _iter_articles(self, where: dict | None = None):
        """Every article record (or those matching ``where``), ``_PAGE`` at a time."""
        for got in _pages(self.articles, where, ["metadatas"]):
            yield from (_info_from(i, m) for i, m in zip(got["ids"], got["metadatas"], strict=True))

    def _counted(self, what: str, collection) -> int:
        """``collection.count()``, remembered until the revision changes (every write, in
        any process, bumps it): Chroma counts by reading every row."""
        revision = self.revision()
        cached = self._counts.get(what)
        if cached is None or cached[0] != revision:
            cached = self._counts[what] = (revision, collection.count())
        return cached[1]

    @_server_errors
    def count_articles(self) -> int:
        return self._counted("articles", self.articles)

    @_server_errors
    def list_articles(self, limit: int | None = None) -> list[ArticleInfo]:
        """Every article by source, or (``limit``) the first ``limit`` stored, by source."""
        if limit is None:
            found = list(self._iter_articles())
        else:
            got = self.articles.get(include=["metadatas"], limit=min(limit, _PAGE))
            found = [_info_from(i, m) for i, m in zip(got["ids"], got["metadatas"], strict=True)]
        return sorted(found, key=lambda info: info.source)

    def find_articles(self, key: str) -> list[ArticleInfo]:
        """Articles whose id, source, url or title equals ``key`` (looked up, not scanned)."""
        where = {"$or": [{"source": key}, {"url": key}, {"title": key}]}
        found = {info.id: info for info in self._iter_articles(where)}
        by_id = self.article_info(key)
        if by_id is not None:
            found[by_id.id] = by_id
        return sorted(found.values(), key=lambda info: info.source)

    def put_article(self, article: Article, n_chunks: int) -> None:
        """Write the article record last: it marks the article's chunks as complete."""
        self.put_articles([(article, n_chunks)])

    @_server_errors
    def put_articles(self, items: Sequence[tuple[Article, int]]) -> None:
        """The records of several articles (each written after all its chunks), in one write."""
        if not items:
            return
        metas = [
            {
                "source": article.source,
                "title": article.title,
                "date": article.date,
                "author": article.author,
                "url": article.url,
                "hash": article.hash,
                "n_chunks": n_chunks,
            }
            for article, n_chunks in items
        ]
        self.articles.upsert(
            ids=[article.id for article, _ in items],
            documents=[article.text for article, _ in items],
            metadatas=[_clean_meta(meta) for meta in metas],
            embeddings=[[0.0]] * len(items),
        )
        self.lexical.bump()
        bump_generation(self.settings)

    @_server_errors
    def delete_article(self, article_id: str) -> int:
        """Remove an article and all its chunks; returns the number of chunks removed.

        The record goes first: a kill part-way leaves only uncommitted chunks, which are
        never retrieved and which ``repair`` (or deleting again) removes.
        """
        ids = self.chunk_ids_of(article_id)
        self.articles.delete(ids=[article_id])
        bump_generation(self.settings)
        kill_point("delete:record-gone")
        self.delete_chunks(ids)
        self.lexical.delete_article(article_id)
        return len(ids)

    @_server_errors
    def find_uncommitted(self, source: str) -> list[PartialArticle]:
        """Articles with chunks stored from ``source`` but no record (an interrupted ingest
        or delete)."""
        got = self.chunks.get(where={"source": source}, include=["metadatas"])
        counts: dict[str, tuple[dict, int]] = {}
        for meta in got["metadatas"]:
            aid = meta.get("article_id", "")
            counts[aid] = (meta, counts.get(aid, (meta, 0))[1] + 1)
        if not counts:
            return []
        recorded = set(self.articles.get(ids=list(counts), include=[])["ids"])
        return [
            PartialArticle(aid, meta.get("source", ""), meta.get("title", ""), n, None)
            for aid, (meta, n) in counts.items()
            if aid not in recorded
        ]

    # ----- chunks -------------------------------------------------------------------
    @_server_errors
    def chunk_ids_of(self, article_id: str) -> list[str]:
        return [
            cid for got in _pages(self.chunks, {"article_id": article_id}) for cid in got["ids"]
        ]

    @_server_errors
    def chunk_ids_by_article(self, article_ids: Sequence[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        ids = list(dict.fromkeys(article_ids))
        for i in range(0, len(ids), _BATCH):
            where = {"article_id": {"$in": ids[i : i + _BATCH]}}
            for got in _pages(self.chunks, where, ["metadatas"]):
                for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                    found.setdefault(meta.get("article_id", ""), []).append(cid)
        return found

    @_server_errors
    def existing_chunk_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), _BATCH):
            found.update(self.chunks.get(ids=list(ids[i : i + _BATCH]), include=[])["ids"])
        # stored in both Chroma and the lexical index: a chunk missing from either is rewritten
        return found & self.lexical.existing(list(found)) if found else found

    def upsert_chunks(
        self, article: Article, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]]
    ) -> None:
        self.upsert_many([(article, chunks, embeddings)])

    @_server_errors
    def upsert_many(
        self, items: Sequence[tuple[Article, Sequence[Chunk], Sequence[Sequence[float]]]]
    ) -> None:
        """One Chroma write and one lexical transaction for all of them: Chroma's cost is
        mostly per call, so many short articles are written together."""
        rows = [
            (c, _clean_meta(_chunk_meta(article, c)), e)
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

    @_server_errors
    def delete_chunks(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), _BATCH):
            self.chunks.delete(ids=ids[i : i + _BATCH])
            kill_point("delete:chunk-batch")
        if ids:
            self.lexical.delete_chunks(ids)
            bump_generation(self.settings)

    @_server_errors
    def count_chunks(self) -> int:
        return self._counted("chunks", self.chunks)

    def _hashes(self, article_ids: Iterable[str] | None = None) -> dict[str, str]:
        """Committed hash of each article (all of them when ``article_ids`` is None)."""
        if article_ids is None:
            return {info.id: info.hash for info in self._iter_articles()}
        else:
            ids = list(dict.fromkeys(article_ids))
            if not ids:
                return {}
            got = self.articles.get(ids=ids, include=["metadatas"])
        return {i: m.get("hash", "") for i, m in zip(got["ids"], got["metadatas"], strict=True)}

    def _scan(self, include: list[str]):
        """Every stored chunk, committed or not: (id, document or None, metadata)."""
        total = self.count_chunks()
        for offset in range(0, total, _BATCH):
            got = self.chunks.get(include=include, limit=_BATCH, offset=offset)
            docs = got["documents"] if "documents" in include else [None] * len(got["ids"])
            yield from zip(got["ids"], docs, got["metadatas"], strict=True)

    @_server_errors
    def all_chunks(self, committed_only: bool = True) -> list[tuple[Chunk, dict]]:
        """Every committed chunk with its metadata (for lexical retrieval); with
        ``committed_only=False`` also the chunks of interrupted ingests and deletes."""
        hashes = self._hashes() if committed_only else {}
        return [
            (chunk_from(cid, text, meta), meta)
            for cid, text, meta in self._scan(["documents", "metadatas"])
            if not committed_only
            or is_committed(cid, text, meta, hashes.get(meta.get("article_id", "")))
        ]

    @_server_errors
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
        n = min(k, total)
        while True:
            got = self.chunks.query(
                query_embeddings=vector,
                n_results=n,
                where=filters.chroma_where() if filters else None,
                include=["documents", "metadatas", "distances"],
            )
            ids, docs, metas, dists = (
                got[f][0] for f in ("ids", "documents", "metadatas", "distances")
            )
            hashes = self._hashes(m.get("article_id", "") for m in metas)
            hits = [
                (cid, text, meta, dist)
                for cid, text, meta, dist in zip(ids, docs, metas, dists, strict=True)
                if is_committed(cid, text, meta, hashes.get(meta.get("article_id", "")))
            ]
            if len(hits) >= k or n >= total or n >= 16 * k:
                break
            n = min(4 * n, total)
        return [
            passage_from(chunk_from(cid, text, meta), meta, 1.0 - dist, rank)
            for rank, (cid, text, meta, dist) in enumerate(hits[:k])
        ]

    # ----- health -------------------------------------------------------------------
    def _committed_flags(self, hashes: dict[str, str]):
        """(id, metadata, committed?) for every stored chunk; documents are read only for
        chunks stored before ``article_hash`` was recorded."""
        legacy: list[tuple[str, dict]] = []
        for cid, _, meta in self._scan(["metadatas"]):
            if "article_hash" in meta:
                aid = meta.get("article_id", "")
                yield cid, meta, is_committed(cid, "", meta, hashes.get(aid))
            else:
                legacy.append((cid, meta))
        for i in range(0, len(legacy), _BATCH):
            part = dict(legacy[i : i + _BATCH])
            got = self.chunks.get(ids=list(part), include=["documents"])
            for cid, text in zip(got["ids"], got["documents"], strict=True):
                meta = part[cid]
                yield cid, meta, is_committed(cid, text, meta, hashes.get(meta["article_id"]))

    @_server_errors
    def health(self) -> IndexHealth:
        """Partial state left by an interrupted ingest or delete (reads every chunk's
        metadata: for ``rag status``, not per question)."""
        hashes = self._hashes()
        committed: dict[str, int] = {}
        loose: dict[str, tuple[dict, int]] = {}
        for _, meta, ok in self._committed_flags(hashes):
            aid = meta.get("article_id", "")
            if ok:
                committed[aid] = committed.get(aid, 0) + 1
            else:
                loose[aid] = (meta, loose.get(aid, (meta, 0))[1] + 1)
        uncommitted = [
            PartialArticle(aid, meta.get("source", ""), meta.get("title", ""), n, None)
            for aid, (meta, n) in sorted(loose.items(), key=lambda kv: kv[1][0].get("source", ""))
        ]
        incomplete = [
            PartialArticle(i.id, i.source, i.title, committed.get(i.id, 0), i.n_chunks)
            for i in self.list_articles()
            if committed.get(i.id, 0) < i.n_chunks
        ]
        return IndexHealth(uncommitted=uncommitted, incomplete=incomplete)

    @_server_errors
    def repair(self) -> IndexHealth:
        """Remove what ``health`` found: uncommitted chunks, and incomplete articles (record
        and chunks: the next ingest of their file adds them again, whole). Returns what was
        found. The caller holds the write lock."""
        found = self.health()
        broken = {p.id for p in found.incomplete}
        for partial in found.incomplete:
            self.delete_article(partial.id)
        stale = [
            cid
            for cid, meta, ok in self._committed_flags(self._hashes())
            if not ok and meta.get("article_id", "") not in broken
        ]
        self.delete_chunks(stale)
        return found

    @_server_errors
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

    @_server_errors
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

    def lexical_search(self, query: str, k: int, filters: Filters | None = None) -> list[Passage]:
        """The ``k`` best committed chunks by BM25 (SQLite FTS5), within ``filters`` (an SQL
        WHERE). Uncommitted hits are dropped as in ``dense_search`` (widened once if needed)."""
        n = k
        while True:
            hits = self.lexical.search(query, n, filters)
            hashes = self._hashes(h.chunk.article_id for h in hits)
            kept = [
                h
                for h in hits
                if is_committed(h.chunk.id, h.chunk.text, h.meta, hashes.get(h.chunk.article_id))
            ]
            if len(kept) >= k or len(hits) < n or n >= 4 * k:
                break
            n *= 4
        return [passage_from(h.chunk, h.meta, h.score, rank) for rank, h in enumerate(kept[:k])]

    def any_match(self, filters: Filters | None) -> bool:
        """Whether any stored chunk lies within the filters (an indexed lookup)."""
        return self.lexical.any_match(filters)

    # ----- the embedder that built the collection -------------------------------------
    @_server_errors
    def embedding_model(self) -> EmbeddingModel | None:
        """Read afresh each time: another process may have recorded it meanwhile."""
        meta = self._current_metadata()
        name, dimension = meta.get(_EMBEDDER_KEY), meta.get(_DIMENSION_KEY)
        if not name or not dimension:
            return None
        return EmbeddingModel(str(name), int(dimension))

    @_server_errors
    def check_embedder(self, embedder: Embedder, *, write: bool = False) -> None:
        used = EmbeddingModel(embedder.name, int(embedder.dimension))
        if self._embedder_ok == used:
            return  # once per store: the record does not change under a collection in use
        recorded = self.embedding_model()
        if recorded == used:
            self._embedder_ok = used
            return
        # An emptied collection keeps its vectors' dimension (Chroma's index is fixed by the
        # first vector), so it can change model only to one of the same dimension.
        if self.count_chunks() or (recorded and recorded.dimension != used.dimension):
            if recorded is not None:
                raise EmbedderMismatch(self.name, recorded, used)
            stored = self._stored_dimension()  # built before models were recorded
            if stored is not None and stored != used.dimension:
                raise EmbedderMismatch(self.name, f"an unrecorded model ({stored} dims)", used)
        if write:  # first write, an empty collection, or one from before records: adopt
            self._record(used)
            self._embedder_ok = used

    def _current_metadata(self) -> dict:
        from chromadb.errors import NotFoundError

        try:
            collection = self.client.get_collection(self.name, embedding_function=None)
        except (NotFoundError, ValueError):
            return {}
        return dict(collection.metadata or {})

    def _stored_dimension(self) -> int | None:
        got = self.chunks.get(limit=1, include=["embeddings"])
        embeddings = got.get("embeddings")
        return len(embeddings[0]) if embeddings is not None and len(embeddings) else None

    def _record(self, model: EmbeddingModel) -> None:
        # chroma refuses "hnsw:" keys in modify (the distance stays cosine in its config)
        meta = {k: v for k, v in self._current_metadata().items() if not k.startswith("hnsw:")}
        meta.update({_EMBEDDER_KEY: model.name, _DIMENSION_KEY: model.dimension})
        self.chunks.modify(metadata=meta)


def create(settings: Settings, collection: str | None = None) -> ChromaStore:
    return ChromaStore(settings, collection)
