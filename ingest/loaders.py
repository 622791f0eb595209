"""Load files into Articles: .txt, .md, .html, .pdf, .jsonl. Errors name the file and why."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from ingest.cleaning import clean_text
from rag.records import Article

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


class LoadError(Exception):
    """A file (or line) that cannot become an article; the message is one line."""


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Files under the given paths: folders walked in sorted order; hidden entries and
    question files are skipped."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path).parts
                hidden = any(p.startswith(".") for p in rel)
                wanted = child.is_file() and not hidden and child.suffix.lower() in SUPPORTED
                if wanted and not is_questions_file(child):
                    yield child
        else:
            yield path


def is_questions_file(path: Path) -> bool:
    """A JSONL of questions (for ``rag eval``) sitting among articles: its first record has
    ``question`` and no ``text``. Folder walks leave it out."""
    if path.suffix.lower() != ".jsonl":
        return False
    try:
        with path.open(encoding="utf-8") as f:
            first = next((line for line in f if line.strip()), "")
        record = json.loads(first)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(record, dict) and "question" in record and "text" not in record


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise LoadError(f"{path}: binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"{path}: not valid UTF-8 text (byte {exc.start})") from None


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """``key: value`` lines between leading ``---`` lines, and the rest of the text.

    >>> split_front_matter("---\\ntitle: A\\nauthor: B\\n---\\nBody")
    ({'title': 'A', 'author': 'B'}, 'Body')
    """
    text = text.replace("\r\n", "\n")
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    meta = {}
    for line in m.group(1).splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, text[m.end() :]


def _title_from(text: str, fallback: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    first = first.lstrip("# ").strip()
    if first and len(first) <= 200 and not first.endswith("."):
        return first
    return fallback


def _article(path_or_source: str, text: str, meta: dict, fallback_title: str) -> Article:
    author = meta.get("author") or None
    cleaned = clean_text(text, author)
    if not cleaned:
        raise LoadError(f"{path_or_source}: no text after cleaning")
    return Article(
        source=meta.get("source") or path_or_source,
        title=meta.get("title") or _title_from(cleaned, fallback_title),
        text=cleaned,
        date=meta.get("date") or None,
        author=author,
        url=meta.get("url") or None,
    )


def load_text(path: Path) -> list[Article]:
    meta, body = split_front_matter(_read_text(path))
    return [_article(str(path.resolve()), body, meta, path.stem)]


def load_html(path: Path) -> list[Article]:
    import trafilatura

    raw = _read_text(path)
    try:
        text = trafilatura.extract(
            raw, include_comments=False, include_tables=True, favor_precision=True
        )
        doc = trafilatura.extract_metadata(raw)
    except Exception as exc:  # trafilatura raises many kinds on broken markup
        raise LoadError(f"{path}: unreadable HTML ({type(exc).__name__})") from None
    if not text or not text.strip():
        raise LoadError(f"{path}: no article text found in the HTML")
    meta = {}
    if doc is not None:
        meta = {"title": doc.title, "date": doc.date, "author": doc.author, "url": doc.url}
    meta = {k: v for k, v in meta.items() if v}
    return [_article(str(path.resolve()), text, meta, path.stem)]


def load_pdf(path: Path) -> list[Article]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        text = "\n\n".join((page.extract_text() or "") for page in reader.pages)
        info = reader.metadata or {}
        title = getattr(info, "title", None) or None
        author = getattr(info, "author", None) or None
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"{path}: broken PDF ({exc})".splitlines()[0]) from None
    if not text.strip():
        raise LoadError(f"{path}: the PDF has no extractable text")
    meta = {k: v for k, v in {"title": title, "author": author}.items() if v}
    return [_article(str(path.resolve()), text, meta, path.stem)]


def load_jsonl(path: Path, errors: list[str] | None = None) -> list[Article]:
    """One article per line; a bad line is reported (``errors``) and the others still load."""
    articles = []
    for lineno, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise LoadError(f"{where}: expected a JSON object")
            text = record.get("text")
            if not isinstance(text, str) or not text.strip():
                raise LoadError(f"{where}: missing or empty 'text'")
            meta = {k: str(record[k]) for k in ("title", "url", "date", "author") if record.get(k)}
            source = meta.get("url") or f"{path.resolve()}#L{lineno}"
            articles.append(
                _article(source, text, {**meta, "source": source}, f"{path.stem} #{lineno}")
            )
        except json.JSONDecodeError as exc:
            msg = f"{where}: invalid JSON ({exc.msg})"
            if errors is None:
                raise LoadError(msg) from None
            errors.append(msg)
        except LoadError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
    if not articles and not errors:
        raise LoadError(f"{path}: no articles in the file")
    return articles


def load_path(path: Path, max_bytes: int, errors: list[str] | None = None) -> list[Article]:
    """Articles in one file. Raises LoadError with a one-line reason."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise LoadError(f"{path}: no such file")
    if suffix not in SUPPORTED:
        raise LoadError(
            f"{path}: unsupported type '{suffix or 'none'}' (use {', '.join(SUPPORTED)})"
        )
    size = path.stat().st_size
    if size == 0:
        raise LoadError(f"{path}: empty file")
    if size > max_bytes:
        raise LoadError(
            f"{path}: too large ({size / 1e6:.1f} MB, the limit is {max_bytes / 1e6:.1f} MB)"
        )
    if suffix in (".html", ".htm"):
        return load_html(path)
    if suffix == ".pdf":
        return load_pdf(path)
    if suffix == ".jsonl":
        return load_jsonl(path, errors)
    return load_text(path)
