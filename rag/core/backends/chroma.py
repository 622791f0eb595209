"""Chroma-backed storage of chunks (with embeddings) and of full article texts.

Two collections live side by side: ``<name>`` holds chunks and their embeddings;
``<name>__articles`` holds each article's cleaned text and metadata. An article's
record is written *after* its chunks, so it doubles as the commit marker of an ingest.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from functools import cached_property

from rag.core.records import Article, ArticleInfo, Chunk, Passage, chunk_from, passage_from
from rag.core.settings import Settings

_ARTICLE_SUFFIX = "__articles"
_BATCH = 1000
_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


def chroma_client(settings: Settings):
    """One Chroma client per data directory (or server) and process."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        key = ("http", settings.chroma_host, settings.chroma_port)
    else:
        key = ("path", str(settings.chroma_path.resolve()))
    with _clients_lock:
        if key not in _clients:
            if settings.chroma_host:
                _clients[key] = chromadb.HttpClient(
                    host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
                )
            else:
                settings.chroma_path.mkdir(parents=True, exist_ok=True)
                _clients[key] = chromadb.PersistentClient(
                    path=str(settings.chroma_path), settings=chroma_settings
                )
        return _clients[key]


def _clean_meta(meta: dict) -> dict:
    """Chroma metadata values cannot be None."""
    return {k: v for k, v in meta.items() if v is not None}


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

    @cached_property
    def client(self):
        return chroma_client(self.settings)

    @cached_property
    def chunks(self):
        return self.client.get_or_create_collection(
            self.name, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )

    @cached_property
    def articles(self):
        return self.client.get_or_create_collection(
            self.name + _ARTICLE_SUFFIX, embedding_function=None
        )

    # ----- articles -----------------------------------------------------------------
    def article_info(self, article_id: str) -> ArticleInfo | None:
        got = self.articles.get(ids=[article_id], include=["metadatas"])
        if not got["ids"]:
            return None
        return _info_from(got["ids"][0], got["metadatas"][0])

    def article_text(self, article_id: str) -> str | None:
        got = self.articles.get(ids=[article_id], include=["documents"])
        return got["documents"][0] if got["ids"] else None

    def list_articles(self) -> list[ArticleInfo]:
        got = self.articles.get(include=["metadatas"])
        infos = [_info_from(i, m) for i, m in zip(got["ids"], got["metadatas"], strict=True)]
        return sorted(infos, key=lambda info: info.source)

    def find_articles(self, key: str) -> list[ArticleInfo]:
        """Articles whose id, source, url or title equals ``key``."""
        return [
            info
            for info in self.list_articles()
            if key in (info.id, info.source, info.url, info.title)
        ]

    def put_article(self, article: Article, n_chunks: int) -> None:
        """Write the article record last: it marks the article's chunks as complete."""
        meta = {
            "source": article.source,
            "title": article.title,
            "date": article.date,
            "author": article.author,
            "url": article.url,
            "hash": article.hash,
            "n_chunks": n_chunks,
        }
        self.articles.upsert(
            ids=[article.id],
            documents=[article.text],
            metadatas=[_clean_meta(meta)],
            embeddings=[[0.0]],
        )

    def delete_article(self, article_id: str) -> int:
        """Remove an article and all its chunks; returns the number of chunks removed."""
        ids = self.chunk_ids_of(article_id)
        self.delete_chunks(ids)
        self.articles.delete(ids=[article_id])
        return len(ids)

    # ----- chunks -------------------------------------------------------------------
    def chunk_ids_of(self, article_id: str) -> list[str]:
        return self.chunks.get(where={"article_id": article_id}, include=[])["ids"]

    def existing_chunk_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), _BATCH):
            found.update(self.chunks.get(ids=list(ids[i : i + _BATCH]), include=[])["ids"])
        return found

    def upsert_chunks(
        self, article: Article, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]]
    ) -> None:
        if not chunks:
            return
        metas = [
            _clean_meta(
                {
                    "article_id": article.id,
                    "source": article.source,
                    "title": article.title,
                    "date": article.date,
                    "start": c.start,
                    "end": c.end,
                    "index": c.index,
                }
            )
            for c in chunks
        ]
        self.chunks.upsert(
            ids=[c.id for c in chunks],
            documents=[c.text for c in chunks],
            metadatas=metas,
            embeddings=[list(map(float, e)) for e in embeddings],
        )

    def delete_chunks(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), _BATCH):
            self.chunks.delete(ids=ids[i : i + _BATCH])

    def count_chunks(self) -> int:
        return self.chunks.count()

    def all_chunks(self) -> list[tuple[Chunk, dict]]:
        """Every chunk with its metadata (for lexical retrieval)."""
        out: list[tuple[Chunk, dict]] = []
        total = self.count_chunks()
        for offset in range(0, total, _BATCH):
            got = self.chunks.get(include=["documents", "metadatas"], limit=_BATCH, offset=offset)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                out.append((chunk_from(cid, text, meta), meta))
        return out

    def dense_search(self, embedding: Sequence[float], k: int) -> list[Passage]:
        """Nearest chunks by cosine similarity (score = 1 - cosine distance)."""
        total = self.count_chunks()
        if total == 0:
            return []
        got = self.chunks.query(
            query_embeddings=[list(map(float, embedding))],
            n_results=min(k, total),
            include=["documents", "metadatas", "distances"],
        )
        passages = []
        for rank, (cid, text, meta, dist) in enumerate(
            zip(
                got["ids"][0],
                got["documents"][0],
                got["metadatas"][0],
                got["distances"][0],
                strict=True,
            )
        ):
            passages.append(passage_from(chunk_from(cid, text, meta), meta, 1.0 - dist, rank))
        return passages

    def exists(self) -> bool:
        return bool(self.settings.chroma_host) or self.settings.chroma_path.exists()

    def location(self) -> str:
        if self.settings.chroma_host:
            return f"http://{self.settings.chroma_host}:{self.settings.chroma_port}"
        return str(self.settings.chroma_path.resolve())

    def revision(self) -> str:
        """Changes whenever stored content changes (articles are the commit markers)."""
        got = self.articles.get(include=["metadatas"])
        parts = sorted(
            f"{i}:{m.get('hash', '')}" for i, m in zip(got["ids"], got["metadatas"], strict=True)
        )
        return f"{self.count_chunks()}|" + "|".join(parts)


def create(settings: Settings, collection: str | None = None) -> ChromaStore:
    return ChromaStore(settings, collection)
