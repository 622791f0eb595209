"""Accepting uploaded files: type, size and count limits, and safe names in the data directory.

An upload is copied to ``settings.uploads_path`` under a sanitised name: the browser's file
name is only a hint, and nothing it contains (``../``, ``\\``, absolute paths, control or
shell characters, a leading dot) can place the copy anywhere but directly in that folder.
Uploading a file of the same name again replaces the earlier copy, so re-ingesting it reports
``unchanged`` or ``updated``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rag.errors import InputError
from rag.records import IngestResult

ALLOWED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".jsonl")
MAX_FILES = 20
MAX_NAME_CHARS = 100
_UNSAFE = re.compile(r"[^\w.-]+")


def safe_name(name: str) -> str:
    """A file name that is safe to create inside the uploads folder.

    >>> safe_name("../../etc/passwd.txt")
    'passwd.txt'
    >>> safe_name("C:\\\\Users\\\\me\\\\My Article (1).MD")
    'My_Article_1.md'
    >>> safe_name("..")
    'upload'
    >>> safe_name(".bashrc")
    'bashrc'
    >>> safe_name("résumé 2024.txt")
    'résumé_2024.txt'
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name or ""))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")  # no control chars
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem.strip("._- "):  # no suffix, or a name like ".bashrc"
        stem, suffix = base, ""
    suffix = re.sub(r"[^a-z0-9]", "", suffix.lower())[:10]
    stem = _UNSAFE.sub("_", stem).strip("._-")
    stem = re.sub(r"_{2,}", "_", stem)[:MAX_NAME_CHARS].strip("._-") or "upload"
    return f"{stem}.{suffix}" if suffix else stem


@dataclass(frozen=True)
class Upload:
    """A file the browser sent: where Gradio stored it and the name the user gave it."""

    path: Path
    name: str


def uploads_dir(home: Path, uploads: Path) -> Path:
    """The uploads folder, created, after checking it really lies inside the data directory."""
    uploads.mkdir(parents=True, exist_ok=True)
    real_home, real_uploads = home.resolve(), uploads.resolve()
    if not real_uploads.is_relative_to(real_home):
        raise InputError(f"uploads folder {uploads} points outside the data directory {home}")
    return real_uploads


def store(upload: Upload, folder: Path) -> Path:
    """Copy the upload into ``folder`` under its safe name (atomically; an existing file or
    symlink of that name is replaced, never followed)."""
    dest = folder / safe_name(upload.name)
    if dest.parent != folder:  # cannot happen with safe_name; checked anyway
        raise InputError(f"{upload.name}: bad file name")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out, open(upload.path, "rb") as src:
            shutil.copyfileobj(src, out)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def rejection(upload: Upload, max_bytes: int) -> str | None:
    """Why this upload is refused (type, size, emptiness), or None if it may be ingested.

    >>> rejection(Upload(Path("/x/a.exe"), "a.exe"), 10)
    'unsupported type .exe (allowed: .txt .md .html .htm .pdf .jsonl)'
    """
    suffix = Path(safe_name(upload.name)).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        shown = suffix or "(none)"
        return f"unsupported type {shown} (allowed: {' '.join(ALLOWED_SUFFIXES)})"
    try:
        size = upload.path.stat().st_size
    except OSError:
        return "the upload did not arrive; try again"
    if size == 0:
        return "empty file"
    if size > max_bytes:
        return f"{size / 1e6:.1f} MB, the limit is {max_bytes / 1e6:g} MB"
    return None


def accept(
    uploads: Iterable[Upload], folder: Path, max_bytes: int, max_files: int = MAX_FILES
) -> tuple[list[tuple[str, Path]], list[tuple[str, IngestResult]]]:
    """Store the acceptable uploads; returns (name, stored path) pairs and the refusals as
    ``failed`` results (name, result)."""
    stored: list[tuple[str, Path]] = []
    refused: list[tuple[str, IngestResult]] = []
    for i, upload in enumerate(uploads):
        reason = (
            f"too many files at once (the limit is {max_files})"
            if i >= max_files
            else rejection(upload, max_bytes)
        )
        if reason is None:
            try:
                stored.append((upload.name, store(upload, folder)))
                continue
            except (OSError, ValueError) as exc:
                reason = f"could not store it: {exc}"
        refused.append((upload.name, IngestResult(upload.name, "failed", error=reason)))
    return stored, refused
