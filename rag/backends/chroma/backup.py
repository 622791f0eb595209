"""Backing up the embedded index while readers keep answering, and restoring a backup.

``backup(settings, dest)`` holds the write lock (no ingest, delete or repair changes the
index meanwhile; questions go on) and copies ``RAG_HOME/chroma`` and ``RAG_HOME/lexical``
into ``dest``: every SQLite file through SQLite's online backup API (a consistent copy even
while other processes read it), the vector-index files as they are (each checked unchanged
across its copy), and a ``backup.json`` naming the collections and their counts.

``restore(settings, src)`` checks the backup (every SQLite file whole, the manifest's files
present), copies it beside the index, then, under the write lock, moves the current index
aside into ``RAG_HOME/replaced-<time>/`` and the copy into place (two renames), and tells
running readers (``index-generation``; each reopens its client at its next question).

With a Chroma server the store is the server's: back up its data directory (README).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

from rag.backends.chroma import clients, mirror
from rag.backends.chroma.commits import ARTICLE_SUFFIX
from rag.damage import SQLITE_HEADER, chroma_damage, sqlite_problem
from rag.errors import InputError, NotFound, RagError, Unavailable
from rag.locking import write_lock
from rag.protocols import Unsupported
from rag.records import BackupInfo
from rag.settings import Settings

MANIFEST = "backup.json"
FORMAT = 1
PARTS = ("chroma", "lexical")  # folders of RAG_HOME that make the index
_COPY_TRIES = 3


def _refuse_server(settings: Settings, what: str) -> None:
    if settings.chroma_server:
        raise Unsupported(
            f"the index is on the Chroma server {settings.chroma_server}: {what} the server's "
            "data directory instead (README, 'Back up and restore')"
        )


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def _sqlite_copy(source: Path, dest: Path) -> None:
    """A consistent copy of a live SQLite database (its WAL included), checked whole: a
    damaged source raises ``sqlite3.DatabaseError`` rather than make a damaged backup."""
    src = sqlite3.connect(source, timeout=60)
    try:
        out = sqlite3.connect(dest)
        try:
            src.backup(out)
        finally:
            out.close()
    finally:
        src.close()
    problem = sqlite_problem(dest)
    if problem is not None:
        raise sqlite3.DatabaseError(problem)


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _plain_copy(source: Path, dest: Path) -> None:
    """Copy a file, again if it changed meanwhile (a reader's client may write its vector
    index while applying the store's log)."""
    for _ in range(_COPY_TRIES):
        before = _stamp(source)
        shutil.copy2(source, dest)
        if _stamp(source) == before:
            return
    raise Unavailable(f"{source} kept changing while it was copied; try the backup again")


def _copy_tree(source: Path, dest: Path) -> tuple[int, int]:
    """Copy an index folder (SQLite files by the backup API, others as they are); returns
    (files, bytes). SQLite's -wal/-shm/-journal files are folded into their database."""
    n_files = n_bytes = 0
    for folder, _, names in os.walk(source):
        target = dest / Path(folder).relative_to(source)
        target.mkdir(parents=True, exist_ok=True)
        for name in sorted(names):
            path = Path(folder, name)
            if name.endswith(("-wal", "-shm", "-journal")) or name.endswith(".rebuild"):
                continue
            if _is_sqlite(path) or name.endswith((".sqlite", ".sqlite3")):
                _sqlite_copy(path, target / name)
            else:
                _plain_copy(path, target / name)
            n_files += 1
            n_bytes += (target / name).stat().st_size
    return n_files, n_bytes


def _counts(settings: Settings) -> dict[str, dict[str, int]]:
    """Articles and chunks of each collection of rag's in the index (read from Chroma alone:
    the lexical index may be the damaged part)."""
    if not settings.chroma_path.exists():
        return {}
    try:
        client = clients.chroma_client(settings)
        collections = {c.name: c for c in client.list_collections()}
        return {
            name: {"articles": collections[name + ARTICLE_SUFFIX].count(), "chunks": c.count()}
            for name, c in sorted(collections.items())
            if not name.endswith(ARTICLE_SUFFIX) and name + ARTICLE_SUFFIX in collections
        }
    except Exception as exc:
        damage = chroma_damage(exc, settings.chroma_path.resolve())
        if damage is None:
            raise
        raise damage from None


def backup(settings: Settings, dest: str | Path) -> BackupInfo:
    """Write a consistent copy of the index into ``dest`` (a new or empty folder)."""
    _refuse_server(settings, "back up")
    dest = Path(dest).expanduser()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InputError(f"{dest} exists and is not an empty folder; name a new one")
    home = settings.home.resolve()
    if dest.resolve().is_relative_to(home):
        raise InputError(f"{dest} is inside the data directory {settings.home}; choose another")
    partial = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        lexical_note = None
        with write_lock(settings):  # a writer that started first finishes first
            if not settings.chroma_path.exists():
                raise NotFound(f"no index at {settings.home} to back up")
            collections = _counts(settings)
            try:
                n_files, n_bytes = _copy_tree(settings.chroma_path, partial / "chroma")
            except sqlite3.DatabaseError as exc:
                raise chroma_damage(exc, settings.chroma_path.resolve()) or exc from None
            if (settings.home / "lexical").exists():
                try:
                    files, size = _copy_tree(settings.home / "lexical", partial / "lexical")
                    n_files, n_bytes = n_files + files, n_bytes + size
                except sqlite3.DatabaseError as exc:  # derived data: rebuilt after a restore
                    shutil.rmtree(partial / "lexical", ignore_errors=True)
                    lexical_note = f"left out, damaged ({exc}); rebuilt from the store on use"
        created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        manifest = {
            "format": FORMAT,
            "created": created,
            "collections": collections,
            "files": n_files,
            "bytes": n_bytes,
        }
        if lexical_note:
            manifest["lexical"] = lexical_note
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if dest.exists():
            dest.rmdir()
        os.replace(partial, dest)  # a backup folder is whole or absent
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return BackupInfo(str(dest), created, collections, n_files, n_bytes)


def read_backup(src: str | Path) -> BackupInfo:
    """The backup's manifest, after checking every SQLite file in it is whole."""
    src = Path(src).expanduser()
    try:
        manifest = json.loads((src / MANIFEST).read_text())
    except FileNotFoundError:
        raise InputError(f"{src} is not a backup made by `rag backup` (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{src / MANIFEST} is unreadable ({exc})") from None
    if manifest.get("format") != FORMAT or not (src / "chroma").is_dir():
        raise InputError(f"{src} is not a backup this version can restore")
    for path in sorted((src / "chroma").rglob("*")) + sorted((src / "lexical").rglob("*")):
        if path.is_file() and path.name.endswith((".sqlite", ".sqlite3")):
            problem = sqlite_problem(path)
            if problem:
                raise InputError(f"the backup's {path} is damaged ({problem}); use another")
    return BackupInfo(
        str(src),
        str(manifest.get("created", "?")),
        dict(manifest.get("collections", {})),
        int(manifest.get("files", 0)),
        int(manifest.get("bytes", 0)),
    )


def restore(settings: Settings, src: str | Path) -> tuple[BackupInfo, Path | None]:
    """Replace the index by the backup at ``src``; returns what it holds and where the
    index it replaced was moved (None: there was none)."""
    _refuse_server(settings, "restore")
    info = read_backup(src)
    src = Path(src).expanduser()
    settings.home.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    incoming = settings.home / f"restoring-{stamp}"
    shutil.rmtree(incoming, ignore_errors=True)
    try:
        for part in PARTS:  # copied before the lock: the current index stays in use meanwhile
            if (src / part).is_dir():
                shutil.copytree(src / part, incoming / part)
        with write_lock(settings):
            _fresh_revisions(incoming / "lexical")
            replaced = settings.home / f"replaced-{stamp}"
            moved = False
            for part in PARTS:
                if (settings.home / part).exists():
                    replaced.mkdir(exist_ok=True)
                    os.replace(settings.home / part, replaced / part)
                    moved = True
            for part in PARTS:
                if (incoming / part).exists():
                    os.replace(incoming / part, settings.home / part)
            clients.bump_generation(settings)
            clients.reopen(settings)
            mirror.forget_indexes(settings.home / "lexical")
            now = _counts(settings)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    where = replaced if moved else None
    if now != info.collections:
        raise RagError(
            f"restored {src}, but the index now holds {now}, not {info.collections} as the "
            f"backup says" + (f"; the replaced index is in {where}" if where else "")
        )
    return info, where


def _fresh_revisions(folder: Path) -> None:
    """Give each restored lexical index a revision no reader has seen, so none trusts a count
    or a cached search from before the restore."""
    if not folder.is_dir():
        return
    revision = time.time_ns() // 1000
    for path in folder.rglob("*.sqlite"):
        conn = sqlite3.connect(path)
        try:
            with conn:
                conn.execute("UPDATE state SET value = ? WHERE key = 'revision'", (revision,))
        finally:
            conn.close()
