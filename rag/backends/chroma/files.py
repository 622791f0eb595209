"""The index's files: checking them (Chroma's SQLite file, embedded; the lexical index beside
it, or beside a Chroma server), a damaged one as one line naming it, and rebuilding the
lexical index from the store: it is derived data, so ``rag status --repair`` makes a damaged
one afresh.

The rebuild writes a new file next to the old one and renames it into place, so readers
see the old index or the new one, never half of one (each reader reopens the file when it
sees it replaced, ``rag.lexical.LexicalIndex.db``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rag.backends.chroma import clients, mirror
from rag.damage import (
    LEXICAL_REMEDY,
    IndexDamaged,
    chroma_damage,
    chroma_remedy,
    sqlite_problem,
)
from rag.lexical import LexicalIndex, file_problem
from rag.protocols import EmbedderMismatch
from rag.records import chunk_from

if TYPE_CHECKING:
    from rag.backends.chroma.host import ChromaHost


def damage_errors(method):
    """Embedded, an error that comes from a damaged SQLite file becomes ``IndexDamaged``: one
    line naming the file and what to do (``rag.damage``). For methods of a ``ChromaStore``."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if self.settings.chroma_server:
            return method(self, *args, **kwargs)
        try:
            return method(self, *args, **kwargs)
        except (IndexDamaged, EmbedderMismatch):
            raise
        except Exception as exc:
            damage = chroma_damage(exc, self.settings.chroma_path.resolve())
            if damage is None:
                raise
            raise damage from None

    return wrapper


def check(store: ChromaHost) -> None:
    """Raise ``IndexDamaged`` (one line naming the file) when Chroma's SQLite file (embedded)
    or the store's lexical index is damaged. Reads both whole (``PRAGMA quick_check``; every
    lexical text): for ``rag status``."""
    if not store.settings.chroma_server:
        chroma_dir = store.settings.chroma_path.resolve()
        problem = sqlite_problem(chroma_dir / "chroma.sqlite3")
        if problem is not None:
            raise IndexDamaged(chroma_dir / "chroma.sqlite3", problem, chroma_remedy(chroma_dir))
    lexical = mirror.lexical_path(store.settings, store.name).resolve()
    problem = file_problem(lexical)
    if problem is not None:
        raise IndexDamaged(lexical, problem, LEXICAL_REMEDY)


def repair_lexical(store: ChromaHost) -> str | None:
    """Rebuild the store's lexical index from its chunks if it is damaged; returns what was
    wrong (None: it was sound). The caller holds the write lock."""
    path = mirror.lexical_path(store.settings, store.name).resolve()
    problem = file_problem(path)
    if problem is None:
        return None
    mirror.forget_indexes(path.parent)
    rebuild(store.chunks, path, store.name)
    clients.bump_generation(store.settings)
    return problem


def _remove(path: Path) -> None:
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        with contextlib.suppress(FileNotFoundError):
            name.unlink()


def rebuild(chunks, path: Path, name: str) -> int:
    """Index every chunk of the Chroma collection ``chunks`` into a new lexical index, then
    put it at ``path`` (replacing the damaged one). Returns the number of chunks. The caller
    holds the write lock."""
    started = time.perf_counter()
    total = chunks.count()
    print(
        f"lexical index: rebuilding {path} from the {total:,} stored chunks of {name!r}…",
        file=sys.stderr,
    )
    fresh = path.with_name(path.name + ".rebuild")
    _remove(fresh)
    index = LexicalIndex(fresh)
    try:
        for offset in range(0, total, clients.PAGE):
            got = chunks.get(include=["documents", "metadatas"], limit=clients.PAGE, offset=offset)
            index.upsert(
                [
                    (chunk_from(cid, text, meta), meta)
                    for cid, text, meta in zip(
                        got["ids"], got["documents"], got["metadatas"], strict=True
                    )
                ]
            )
        index.db.execute("BEGIN IMMEDIATE")
        index.set_flag("backfilled", int(time.time()))
        # a revision no reader has seen: they recount and re-read rather than trust a cache
        index.set_flag("revision", time.time_ns() // 1000)
        index.db.execute("COMMIT")
        index.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        index.close()
    for suffix in ("-wal", "-shm", "-journal"):  # the old file's: never applied to the new one
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")
    os.replace(fresh, path)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{fresh}{suffix}")
    print(
        f"lexical index: {total:,} chunks indexed in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return total
