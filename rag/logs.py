"""What reaches stderr, and where a bug's traceback is kept.

Our own packages (``rag``, ``ingest``, ``ui``) log under their module names; everything else
(Python warnings, transformers, ONNX Runtime, Chroma, Gradio, llama.cpp's native log lines)
counts as *debug*: hidden by default, shown with ``--verbose`` or ``RAG_LOG_LEVEL=debug``.
Nothing is dropped on the way: raising the level shows it all.

A bug (an exception that is not a ``rag.errors.RagError``) is one line for the user and a
traceback appended to ``Settings.log_path`` (``<home>/logs/rag.log``), written only then.

>>> is_own("ingest.indexer"), is_own("py.warnings"), is_own("ragtime")
(True, False, False)
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

OWN = ("rag", "ingest", "ui")
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
LEVELS["error"] = logging.ERROR
# Libraries that read their verbosity from the environment when first imported.
QUIET_ENVIRONMENT = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # transformers' "Loading weights" bar
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ORT_LOGGING_LEVEL": "3",
}


def is_own(name: str) -> bool:
    """Whether a logger name belongs to this project."""
    return any(name == p or name.startswith(p + ".") for p in OWN)


class _Threshold(logging.Filter):
    """Passes our own records at or above ``level`` and other libraries' records only when
    ``level`` is debug (theirs count as debug, whatever level they were logged at)."""

    def __init__(self, level: int):
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "stderr", True) is False:
            return False  # meant for the log file only (a bug's traceback)
        level = record.levelno if is_own(record.name) else logging.DEBUG
        return level >= self.level


class _Format(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not is_own(record.name):
            return f"[{record.name}] {text}"
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {text}"
        return text


class _BugFile(logging.FileHandler):
    """Our own error records that carry a traceback, appended to the log file; the file
    (and its folder) is made at the first one, never before."""

    def __init__(self, path: Path):
        super().__init__(path, encoding="utf-8", delay=True)
        self.setLevel(logging.ERROR)
        self.addFilter(lambda r: is_own(r.name) and bool(r.exc_info))
        self.setFormatter(logging.Formatter("--- %(asctime)s pid %(process)d %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is None:
            with contextlib.suppress(OSError):
                Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        super().emit(record)


_handlers: list[logging.Handler] = []


def configure(level: str | int = "warning", log_path: Path | None = None) -> None:
    """Route every log record (and every Python warning) through one stderr handler that
    shows our own records at ``level`` and above, and libraries' only at debug; with
    ``log_path``, our error records with a traceback (a server's bugs) also go there. Call
    once at the edge (the ``rag`` command, the UI server); calling again replaces them."""
    threshold = LEVELS.get(level, logging.WARNING) if isinstance(level, str) else level
    if threshold > logging.DEBUG:
        for name, value in QUIET_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
    root = logging.getLogger()
    for old in _handlers:
        root.removeHandler(old)
    _handlers.clear()
    stderr = logging.StreamHandler(sys.stderr)
    stderr.addFilter(_Threshold(threshold))
    stderr.setFormatter(_Format("%(message)s"))
    _handlers.append(stderr)
    if log_path is not None:
        _handlers.append(_BugFile(Path(log_path)))
    for handler in _handlers:
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if threshold <= logging.DEBUG else logging.INFO)
    for name in OWN:
        logging.getLogger(name).setLevel(threshold)
    logging.captureWarnings(True)
    if "transformers" in sys.modules:
        quiet_transformers()


def debug_enabled() -> bool:
    """Whether library output is being shown (``--verbose`` / ``RAG_LOG_LEVEL=debug``)."""
    return logging.getLogger("rag").isEnabledFor(logging.DEBUG)


def quiet_transformers() -> None:
    """Send transformers' log records through our handler (it has its own stderr handler)
    and turn its progress bars off unless debugging. Call after importing transformers."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_default_handler()
    hf_logging.enable_propagation()
    if debug_enabled():
        hf_logging.set_verbosity_debug()
    else:
        hf_logging.disable_progress_bar()


@contextlib.contextmanager
def libraries_to_debug():
    """For noisy one-off work such as exporting a model: a process without logging set up
    does not get a stderr handler from a library's bare ``logging.warning`` (which would
    call ``basicConfig``), and transformers' own handler and progress bars are off. Python
    warnings are left to ``configure`` (``logging.captureWarnings``): the warnings module's
    state is process-wide, and swapping it here would race with other threads."""
    root = logging.getLogger()
    guard = None
    if not root.handlers:
        guard = logging.NullHandler()
        root.addHandler(guard)
    try:
        yield
    finally:
        if guard is not None:
            root.removeHandler(guard)
        if "transformers" in sys.modules:
            quiet_transformers()


def record_bug(exc: BaseException, log_path: Path | None, what: str = "") -> Path:
    """Append ``exc``'s traceback to ``log_path`` (its folder is made then; if that fails, a
    file in the temporary directory); returns where it went. Also logs it (debug on stderr)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    argv = " ".join(sys.argv)
    text = "".join(traceback.format_exception(exc))
    entry = f"--- {stamp} pid {os.getpid()} {what or argv}\n{text}\n"
    for path in (log_path, Path(tempfile.gettempdir()) / f"rag-bug-{os.getpid()}.log"):
        if path is None:
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                out.write(entry)
            break
        except OSError:
            continue
    logging.getLogger("rag.bug").debug("%s", text.rstrip(), extra={"stderr": debug_enabled()})
    return path


def bug_line(exc: BaseException, path: Path) -> str:
    """The one line a user sees for a bug.

    >>> print(bug_line(KeyError("x"), Path("/home/ann/.rag/logs/rag.log")))
    internal error (KeyError: 'x'), a bug in rag, not your input; the traceback is in
    /home/ann/.rag/logs/rag.log
    """
    detail = " ".join(str(exc).split())[:200]
    kind = type(exc).__name__ + (f": {detail}" if detail else "")
    return f"internal error ({kind}), a bug in rag, not your input; the traceback is in {path}"
