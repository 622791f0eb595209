"""One writer at a time per data directory: ``with write_lock(settings): ...``.

An ``fcntl.flock`` on ``RAG_HOME/write.lock`` (holding the writer's pid) is held around
ingest, delete, sync and repair. Another writer waits up to ``settings.lock_timeout``
seconds, saying once whom it waits for, then gives up with one line. Readers never take
it. The lock is re-entrant within a thread, and threads of one process take turns. The
kernel drops it when the process dies, so a killed writer never leaves it held.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import Unavailable
from rag.settings import Settings

POLL_SECONDS = 0.1
_local: dict[str, tuple[threading.RLock, list]] = {}  # path -> (lock, [depth, fd])
_local_guard = threading.Lock()


def lock_path(settings: Settings) -> Path:
    return settings.home / "write.lock"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def holder(path: Path) -> str:
    """The pid written by the current holder, or '?'."""
    try:
        return path.read_text().strip() or "?"
    except OSError:
        return "?"


@contextmanager
def write_lock(
    settings: Settings,
    on_wait: Callable[[str], None] | None = _say,
    timeout: float | None = None,
) -> Iterator[None]:
    """Hold the data directory's write lock for the block (see the module docstring)."""
    path = lock_path(settings)
    timeout = settings.lock_timeout if timeout is None else timeout
    deadline = time.monotonic() + timeout
    with _local_guard:
        rlock, state = _local.setdefault(str(path.resolve()), (threading.RLock(), [0, None]))
    if not rlock.acquire(blocking=False):
        if on_wait:
            on_wait(f"rag: waiting for another writer (this process) on {settings.home} …")
        if not rlock.acquire(timeout=max(timeout, 0.001)):
            raise Unavailable(f"another writer in this process holds {path}; try again later")
    try:
        if state[0] == 0:
            state[1] = _acquire_file(path, deadline, timeout, on_wait)
        state[0] += 1
        try:
            yield
        finally:
            state[0] -= 1
            if state[0] == 0:
                fd, state[1] = state[1], None
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
    finally:
        rlock.release()


def _acquire_file(path: Path, deadline: float, timeout: float, on_wait) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    said = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Unavailable(
                        f"another writer (pid {holder(path)}) has held {path} for over "
                        f"{timeout:g} s; try again later (RAG_LOCK_TIMEOUT)"
                    ) from None
                if not said and on_wait:
                    on_wait(f"rag: waiting for another writer (pid {holder(path)}) …")
                    said = True
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd
    except BaseException:
        os.close(fd)
        raise
