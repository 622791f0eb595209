"""One Chroma client per data directory (or server) and process, reopened when another
process has written.

Embedded mode: another process's writes are seen through ``RAG_HOME/index-generation``,
replaced by every commit and delete. A reader stats it (O(1)) before each search and reopens
the Chroma client when it changed: the embedded client otherwise keeps serving a stale
in-memory vector index (chroma-core/chroma#3769: deletes are seen, additions are not).
A Chroma server needs none of this.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rag.backends.chroma.server import http_client
from rag.settings import Settings

# A replaced client is stopped this long after: no search still uses it by then, and its
# vector index (the largest part of a reader's memory) is freed, not kept until the next one.
RETIRE_SECONDS = 10.0


@dataclass
class Handle:
    """A process's client of one data directory or server; ``epoch`` counts reopenings."""

    client: object
    epoch: int = 0
    seen: tuple | None = None  # the generation file's stamp when the client was opened


_clients: dict[tuple, Handle] = {}
lock = threading.Lock()  # guards the client cache (and the stores' lexical index cache)


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


def generation_path(settings: Settings) -> Path:
    return settings.home / "index-generation"


def _stamp(path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _open(settings: Settings):
    from rag.backends.chroma.quick_import import import_chromadb

    chromadb = import_chromadb()
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_server:
        return http_client(settings, settings.chroma_server, chroma_settings)
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def _reopen(settings: Settings, old) -> object:
    """A fresh embedded client over the same directory. Chroma shares one System per path
    within a process, so the old one is taken out of its cache and stopped
    ``RETIRE_SECONDS`` later by a timer."""
    from chromadb.api.shared_system_client import SharedSystemClient

    identifier = getattr(old, "_identifier", None)
    system = SharedSystemClient._identifier_to_system.pop(identifier, None)
    SharedSystemClient._identifier_to_refcount.pop(identifier, None)
    if system is not None:
        timer = threading.Timer(RETIRE_SECONDS, _stop, args=(system,))
        timer.daemon = True
        timer.start()
    return _open(settings)


def _stop(system) -> None:
    with contextlib.suppress(Exception):  # best effort: the new client does not need it
        system.stop()


def handle(settings: Settings, refresh: bool = False) -> Handle:
    """The process's client for ``settings``; with ``refresh``, reopened first if another
    process has committed since it was opened (embedded mode)."""
    key = _key(settings)
    with lock:
        found = _clients.get(key)
        if found is None:
            seen = None if settings.chroma_server else _stamp(generation_path(settings))
            found = _clients[key] = Handle(_open(settings), seen=seen)
        elif refresh and not settings.chroma_server:
            stamp = _stamp(generation_path(settings))
            if stamp != found.seen:
                found.client = _reopen(settings, found.client)
                found.epoch += 1
                found.seen = stamp
        return found


def chroma_client(settings: Settings):
    """One Chroma client per data directory (or server) and process."""
    return handle(settings).client


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
    with lock:
        found = _clients.get(_key(settings))
        if found is not None and found.seen == before:
            found.seen = _stamp(path)  # our own write: this process's client is current


# Every ``get`` is paged: Chroma 1.5 fails above ~32,000 ids a call ("too many SQL variables").
PAGE = 5000
BATCH = 1000  # ids per get or delete by id


def pages(collection, where: dict | None = None, include: list[str] | None = None):
    """``collection.get`` results ``PAGE`` records at a time."""
    offset = 0
    while True:
        got = collection.get(where=where, include=include or [], limit=PAGE, offset=offset)
        yield got
        if len(got["ids"]) < PAGE:
            return
        offset += PAGE
