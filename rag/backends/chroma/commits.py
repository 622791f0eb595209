"""Commits, health and repair of a Chroma collection.

An article's record (in ``<name>__articles``) is written after its chunks: it is the commit
marker. A chunk counts when its article's record exists with the hash the chunk was made
from (``rag.storage.is_committed``). Reads for answers check just their hits' article ids
(one lookup of at most ``k`` records); ``health`` and ``repair`` scan every chunk.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rag.backends.chroma.clients import BATCH
from rag.records import IndexHealth
from rag.storage import health_from, is_committed

if TYPE_CHECKING:
    from rag.backends.chroma.host import ChromaHost

ARTICLE_SUFFIX = "__articles"  # a collection's article records: <name>__articles


def committed_hashes(store: ChromaHost, article_ids: Iterable[str] | None = None) -> dict:
    """Committed hash of each article (all of them when ``article_ids`` is None)."""
    if article_ids is None:
        return {info.id: info.hash for info in store.iter_articles()}
    ids = list(dict.fromkeys(article_ids))
    if not ids:
        return {}
    got = store.articles.get(ids=ids, include=["metadatas"])
    return {i: m.get("hash", "") for i, m in zip(got["ids"], got["metadatas"], strict=True)}


def committed_only(store: ChromaHost, hits: list, key=lambda hit: hit) -> list:
    """The hits (each ``key(hit)`` = chunk id, text, metadata) whose article committed them."""
    keys = [key(hit) for hit in hits]
    hashes = committed_hashes(store, [meta.get("article_id", "") for _, _, meta in keys])
    return [
        hit
        for hit, (cid, text, meta) in zip(hits, keys, strict=True)
        if is_committed(cid, text, meta, hashes.get(meta.get("article_id", "")))
    ]


def scan(store: ChromaHost, include: list[str]):
    """Every stored chunk, committed or not: (id, document or None, metadata)."""
    total = store.count_chunks()
    for offset in range(0, total, BATCH):
        got = store.chunks.get(include=include, limit=BATCH, offset=offset)
        docs = got["documents"] if "documents" in include else [None] * len(got["ids"])
        yield from zip(got["ids"], docs, got["metadatas"], strict=True)


def committed_flags(store: ChromaHost, hashes: dict[str, str]):
    """(id, metadata, committed?) for every stored chunk; documents are read only for
    chunks stored before ``article_hash`` was recorded."""
    legacy: list[tuple[str, dict]] = []
    for cid, _, meta in scan(store, ["metadatas"]):
        if "article_hash" in meta:
            aid = meta.get("article_id", "")
            yield cid, meta, is_committed(cid, "", meta, hashes.get(aid))
        else:
            legacy.append((cid, meta))
    for i in range(0, len(legacy), BATCH):
        part = dict(legacy[i : i + BATCH])
        got = store.chunks.get(ids=list(part), include=["documents"])
        for cid, text in zip(got["ids"], got["documents"], strict=True):
            meta = part[cid]
            yield cid, meta, is_committed(cid, text, meta, hashes.get(meta["article_id"]))


def health(store: ChromaHost) -> IndexHealth:
    """Partial state left by an interrupted ingest or delete (reads every chunk's metadata)."""
    flags = ((meta, ok) for _, meta, ok in committed_flags(store, committed_hashes(store)))
    return health_from(flags, store.list_articles())


def repair(store: ChromaHost) -> IndexHealth:
    """Remove what ``health`` finds: uncommitted chunks, and incomplete articles (record and
    chunks: the next ingest of their file adds them again, whole). Returns what was found."""
    found = health(store)
    broken = {p.id for p in found.incomplete}
    for partial in found.incomplete:
        store.delete_article(partial.id)
    stale = [
        cid
        for cid, meta, ok in committed_flags(store, committed_hashes(store))
        if not ok and meta.get("article_id", "") not in broken
    ]
    store.delete_chunks(stale)
    return found
