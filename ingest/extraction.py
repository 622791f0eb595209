"""Bounded extraction: each file's text is extracted in a child process that can be stopped.

The parsers (pypdf, trafilatura and lxml, the JSONL and text loaders) run in one long-lived
child process, started on the first file and reused for the next ones, so a folder of many
small files pays its start-up (about 0.1 s) once. The parent sends it one file at a time
and waits at most ``max_seconds`` (``RAG_MAX_EXTRACT_S``) for the articles; a file that
takes longer is refused with one line naming it and the limit, the child is killed, and a
new one starts for the next file. The child also runs under an address-space limit
(``RAG_MAX_EXTRACT_MB``) and a CPU-time limit of the same seconds, so no file can take the
machine's memory or hold the writer lock past its budget, whatever its format.

Articles come back as JSON (never pickle: the child parses untrusted files).

>>> with Extractor(max_seconds=30) as extractor:            # doctest: +SKIP
...     articles, errors = extractor.load(Path("corpus/a.txt"))
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import astuple
from pathlib import Path

from ingest.loaders import DEFAULT_MAX_BYTES, DEFAULT_MAX_CHARS, LoadError
from rag.errors import Unavailable
from rag.records import Article

_HEADER = struct.Struct("!Q")  # the length of each JSON message, before it
_START_SECONDS = 60.0  # the child's start-up (imports), not counted in any file's budget


class Extractor:
    """``load(path)`` -> (articles, errors of bad JSONL lines), or ``LoadError``; in a child.

    Use as a context manager (or call ``close``): the child is stopped at the end.
    """

    def __init__(
        self,
        max_seconds: float = 60.0,
        max_mb: float = 2000.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_chars: int = DEFAULT_MAX_CHARS,
    ):
        self.max_seconds = max_seconds
        self.max_mb = max_mb
        self.max_bytes = max_bytes
        self.max_chars = max_chars
        self._child: subprocess.Popen | None = None
        self._stderr = None
        self.n_started = 0  # child processes started (restarts after a kill included)

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----- the child process ----------------------------------------------------------
    def _start(self) -> subprocess.Popen:
        import ingest

        package_root = str(Path(ingest.__file__).resolve().parent.parent)
        env = os.environ.copy()
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _stop)
        command = [sys.executable, "-P", "-m", "ingest.extraction"]
        self._child = subprocess.Popen(
            [*command, str(self.max_mb), str(self.max_seconds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the parent only
        )
        self.n_started += 1
        try:
            ready = _read_message(self._child.stdout, time.monotonic() + _START_SECONDS)
        except (TimeoutError, EOFError):
            ready = None
        if ready != {"ready": True}:
            detail = self._stop()
            raise Unavailable(f"the text extractor process did not start ({detail})")
        return self._child

    def _stop(self) -> str:
        """Kill the child (if running); returns how it ended, e.g. 'signal SIGKILL'."""
        child, self._child = self._child, None
        if child is None:
            return "not running"
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        last = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
            last = lines[-1].strip() if lines else ""
            self._stderr.close()
            self._stderr = None
        code = child.returncode
        ended = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        return f"{ended}: {last}" if last else ended

    def close(self) -> None:
        child = self._child
        if child is not None and child.poll() is None:
            with contextlib.suppress(OSError):
                child.stdin.close()  # the child exits at end of input
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)
        self._stop()

    # ----- one file -------------------------------------------------------------------
    def load(self, path: str | Path) -> tuple[list[Article], list[str]]:
        """The file's articles and the errors of its bad lines (JSONL), extracted within the
        budget; raises ``LoadError`` (one line naming the file) when it cannot be."""
        path = Path(path)
        if self._child is not None and self._child.poll() is not None:
            self._stop()  # it died between files (killed from outside): not this file's doing
        child = self._child if self._child is not None else self._start()
        request = {"path": str(path), "max_bytes": self.max_bytes, "max_chars": self.max_chars}
        try:
            _write_message(child.stdin, request)
            reply = _read_message(child.stdout, time.monotonic() + self.max_seconds)
        except TimeoutError:
            self._stop()
            raise LoadError(
                path,
                f"text extraction took over {self.max_seconds:g} s; refused "
                "(the limit is RAG_MAX_EXTRACT_S)",
            ) from None
        except (EOFError, BrokenPipeError, OSError, ValueError):  # ValueError: a garbled reply
            ended = self._stop()
            raise LoadError(path, self._death_reason(ended)) from None
        if "memory" in reply:
            self._stop()  # a MemoryError may leave the child in a bad state: start afresh
            raise LoadError(path, self._memory_reason())
        if "error" in reply:
            raise LoadError(reply["where"], reply["error"])
        return [Article(*row) for row in reply["articles"]], reply["errors"]

    def _memory_reason(self) -> str:
        return (
            f"text extraction needs more than {self.max_mb:g} MB of memory; refused "
            "(the limit is RAG_MAX_EXTRACT_MB)"
        )

    def _death_reason(self, ended: str) -> str:
        if "SIGXCPU" in ended:
            return (
                f"text extraction used over {self.max_seconds:g} s of CPU time; refused "
                "(the limit is RAG_MAX_EXTRACT_S)"
            )
        if "MemoryError" in ended or "std::bad_alloc" in ended:
            return self._memory_reason()
        return f"the text extractor stopped on this file ({ended}); refused"


# ----- messages: a length, then JSON ---------------------------------------------------
def _encode(message: dict) -> bytes:
    # surrogatepass: a JSONL line may hold a lone surrogate ("\\ud800"); it travels as is
    data = json.dumps(message, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return _HEADER.pack(len(data)) + data


def _write_message(stream, message: dict) -> None:
    stream.write(_encode(message))
    stream.flush()


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    parts, got = [], 0
    poller = select.poll()  # not select(): it fails on descriptors numbered over 1023
    poller.register(fd, select.POLLIN)
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(left * 1000):
                raise TimeoutError
        part = os.read(fd, min(n - got, 1 << 20))
        if not part:
            raise EOFError
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _read_message(stream, deadline: float | None) -> dict:
    """The next message; ``TimeoutError`` when its first byte has not come by ``deadline``
    (the child writes only when its work is done, so the rest follows at once)."""
    fd = stream.fileno()
    header = _read_exact(fd, _HEADER.size, deadline)
    (size,) = _HEADER.unpack(header)
    return json.loads(_read_exact(fd, size, None).decode("utf-8", "surrogatepass"))


# ----- the child's side ---------------------------------------------------------------
def _limit_resources(max_mb: float) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    limit = int(max_mb * 1024 * 1024)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or limit < hard:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _cpu_budget(seconds: float) -> None:
    """Let this process use ``seconds`` more CPU time (then SIGXCPU stops it)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(used + seconds) + 1
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _serve_one(request: dict) -> dict:
    from ingest.loaders import load_path

    path = Path(request["path"])
    errors: list[str] = []
    try:
        articles = load_path(path, request["max_bytes"], errors, request["max_chars"])
    except LoadError as exc:
        return {"where": exc.where, "error": exc.reason}
    except MemoryError:
        return {"memory": True}
    except OSError as exc:
        return {"where": str(path), "error": f"cannot read ({exc.strerror or exc})"}
    except Exception as exc:  # a parser's bug must not stop the other files
        message = " ".join(str(exc).split())
        detail = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        return {"where": str(path), "error": f"cannot load ({detail})"}
    return {"articles": [astuple(a) for a in articles], "errors": errors}


def main(argv: list[str] | None = None) -> int:
    """The child: read requests on stdin, answer each on stdout, until stdin closes."""
    import logging
    import warnings

    max_mb, max_seconds = (float(x) for x in (argv or sys.argv[1:3]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)  # the parsers' warnings are not for users
    import ingest.loaders  # noqa: F401  (imported before the limits: not part of any budget)

    _limit_resources(max_mb)
    stdin = sys.stdin.buffer
    stdout = os.fdopen(os.dup(1), "wb")  # the replies' own descriptor
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into a reply
    sys.stdout = sys.stderr
    _write_message(stdout, {"ready": True})
    while True:
        header = stdin.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return 0
        (size,) = _HEADER.unpack(header)
        request = json.loads(stdin.read(size).decode("utf-8", "surrogatepass"))
        _cpu_budget(max_seconds)
        try:
            data = _encode(_serve_one(request))
        except MemoryError:
            data = _encode({"memory": True})
        stdout.write(data)
        stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
