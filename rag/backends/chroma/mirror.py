"""The full-text mirror of a Chroma collection: a SQLite FTS5 file (``rag.lexical``) beside
the Chroma directory, or, with a Chroma server, a local file per server and collection.

Chunks are written there in the same call that writes them to Chroma, before the article's
commit marker; the file also holds the collection's change counter (``revision``). A data
directory made before the mirror existed is indexed into it once (the backfill).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rag.backends.chroma import clients
from rag.lexical import LexicalIndex, filter_metadata
from rag.records import chunk_from
from rag.settings import Settings

if TYPE_CHECKING:
    from rag.backends.chroma.host import ChromaHost

_indexes: dict[str, LexicalIndex] = {}


def lexical_path(settings: Settings, collection: str) -> Path:
    """The collection's lexical index file."""
    folder = settings.home / "lexical"
    if settings.chroma_server:
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", settings.chroma_server).strip("_")
        folder = folder / f"{name}-{settings.chroma_tenant}-{settings.chroma_database}"
    return folder / f"{collection}.sqlite"


def lexical_index(store: ChromaHost) -> LexicalIndex:
    """The store's lexical index, one per file and process (backfilled once if older)."""
    path = str(lexical_path(store.settings, store.name).resolve())
    with clients.lock:
        index = _indexes.get(path)
        if index is None:
            index = _indexes[path] = LexicalIndex(Path(path))
    if not index.ready:
        if index.get_flag("backfilled") is None:
            backfill(store, index)
        index.ready = True
    return index


def forget_indexes(folder: Path | None = None) -> None:
    """Drop the process's open indexes (those in ``folder``; all without): the next use opens
    and checks them again."""
    with clients.lock:
        for path in list(_indexes):
            if folder is None or Path(path).is_relative_to(folder.resolve()):
                del _indexes[path]


def backfill(store: ChromaHost, index: LexicalIndex) -> None:
    """Index every stored chunk once (an index made before the lexical file existed); also
    gives old chunks the filter metadata (site, day, author) from their article."""
    db = index.db
    db.execute("BEGIN IMMEDIATE")  # one process backfills; the others wait, then skip
    try:
        if index.get_flag("backfilled") is not None:
            db.execute("COMMIT")
            return
        total = store.chunks.count() if store.exists() else 0
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    started = time.perf_counter()
    if total:
        print(
            f"lexical index: indexing the {total} stored chunks of {store.name!r} "
            "once (made before the lexical index existed)…",
            file=sys.stderr,
        )
    infos = {info.id: info for info in store.iter_articles()} if total else {}
    for offset in range(0, total, clients.PAGE):
        got = store.chunks.get(
            include=["documents", "metadatas"], limit=clients.PAGE, offset=offset
        )
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
            store.chunks.update(ids=fix_ids, metadatas=fix_metas)
    db.execute("BEGIN IMMEDIATE")
    index.set_flag("backfilled", int(time.time()))
    db.execute("COMMIT")
    if total:
        print(
            f"lexical index: {total} chunks indexed in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
