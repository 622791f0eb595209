"""Uploads indexed in the background, so that questions never wait for them.

One worker thread takes upload jobs in order. It runs at a lower scheduling priority (a
higher ``nice`` value, for this thread only) and embeds with fewer CPU threads than the
answer path, so on a small machine a question asked during a large upload keeps most of its
speed. A job reports its progress (file i of n, chunks embedded so far) while it runs; the
UI polls it. Closing the worker stops the running job between two embedding batches.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.errors import Unavailable
from ui import render

log = logging.getLogger("ui")

BACKGROUND_NICE = 10  # added to the worker thread's nice value (Linux: per thread)
MAX_WAITING = 16  # jobs queued behind the running one; more are refused with a message


STOPPED_TEXT = "The server stopped before this upload was indexed; upload it again."


class Stopped(Unavailable):
    """The server is shutting down; the upload stopped part-way."""


@dataclass
class UploadJob:
    """One upload: its files, where it has got to, and (when done) its result."""

    id: int
    names: list[str]
    state: str = "queued"  # queued, running, done
    file_index: int = 0  # the file being indexed (0-based)
    current: str = ""
    chunks_embedded: int = 0
    stored: list = field(default_factory=list)  # (name, stored path) to index
    n_sent: int = 0  # files sent, refused ones included
    rows: list = field(default_factory=list)  # (name, IngestResult), refusals first
    html: str = ""  # the result, once done
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    collection: str | None = None  # where the files go (None: the settings' collection)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def n_files(self) -> int:
        return len(self.stored)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the job is done (at most ``timeout`` seconds); True if it is."""
        return self._done.wait(timeout)

    def finish(self, html: str) -> None:
        self.html, self.state, self.finished = html, "done", time.monotonic()
        self._done.set()


def lower_this_threads_priority(nice: int = BACKGROUND_NICE) -> bool:
    """Raise the calling thread's nice value (Linux schedules threads one by one; elsewhere
    this is a no-op). Returns whether it worked."""
    get_tid = getattr(threading, "get_native_id", None)
    if nice <= 0 or get_tid is None or not sys.platform.startswith("linux"):
        return False
    try:
        tid = get_tid()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except (AttributeError, OSError):
        return False
    return True


def limit_torch_threads(n: int) -> None:
    """Make torch (if loaded) use ``n`` CPU threads for work started from the calling thread.

    The limit is per thread, so the answer path keeps its own thread count."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)


class ThrottledEmbedder:
    """An embedder for the background worker: counts what it embeds into the job, embeds
    with ``threads`` CPU threads, and stops (raising ``Stopped``) once the worker closes."""

    def __init__(self, inner, job: UploadJob, stop: threading.Event, threads: int = 1):
        self._inner, self._job, self._stop, self._threads = inner, job, stop, threads

    def __getattr__(self, name: str):  # name, dimension, warm_up ... of the real embedder
        return getattr(self._inner, name)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if self._stop.is_set():
            raise Stopped("the server is shutting down; upload the file again")
        limit_torch_threads(self._threads)
        vectors = self._inner.embed_documents(texts)
        self._job.chunks_embedded += len(texts)
        return vectors

    def embed_query(self, text: str) -> list[float]:
        limit_torch_threads(self._threads)
        return self._inner.embed_query(text)


class UploadWorker:
    """Runs ``run(job, stop)`` for each submitted job, one at a time, on a background thread
    of lower priority. ``close()`` sets ``stop`` and waits for the thread."""

    def __init__(
        self,
        run: Callable[[UploadJob, threading.Event], str],
        *,
        max_waiting: int = MAX_WAITING,
        nice: int = BACKGROUND_NICE,
    ):
        self._run = run
        self._nice = nice
        self._queue: queue.Queue[UploadJob | None] = queue.Queue(maxsize=max_waiting)
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.stop = threading.Event()
        self.current: UploadJob | None = None  # the job being indexed

    def new_job(self, names: list[str]) -> UploadJob:
        return UploadJob(next(self._ids), list(names))

    def submit(self, job: UploadJob) -> UploadJob:
        """Queue the job (the thread starts on first use). Raises ``RuntimeError`` with a
        message for the user when too many uploads are waiting or the server is stopping."""
        if self.stop.is_set():
            raise Unavailable("the server is shutting down; upload again later")
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="rag-uploads", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise Unavailable(
                f"{self._queue.maxsize} uploads are already waiting; try again in a while"
            ) from None
        return job

    def _loop(self) -> None:
        lower_this_threads_priority(self._nice)
        while not self.stop.is_set():
            job = self._queue.get()
            if job is None:
                break
            job.state, job.started = "running", time.monotonic()
            self.current = job
            try:
                html = self._run(job, self.stop)
            except Exception as exc:  # the job reports it; the worker keeps going
                log.error("upload job %d failed", job.id, exc_info=exc)
                html = render.notice_html(f"The upload failed ({type(exc).__name__})", "error")
            self.current = None
            job.finish(html)
        while True:  # jobs still waiting are ended, not left hanging
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.finish(render.notice_html(STOPPED_TEXT, "error"))

    def close(self, timeout: float = 30.0) -> None:
        """Stop: the running job ends at its next embedding batch; waiting jobs are dropped."""
        self.stop.set()
        with self._lock:
            thread = self._thread
        if thread is None:
            return
        with contextlib.suppress(queue.Full):  # if full, the loop sees ``stop`` after the job
            self._queue.put_nowait(None)
        thread.join(timeout)
