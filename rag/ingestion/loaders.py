"""Load files into Articles: .txt, .md, .html, .pdf, .jsonl.

Every problem raises ``LoadError`` with one line that names the file (or file:line) and why.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from rag.core.records import Article
from rag.ingestion.cleaning import clean_text

TEXT_TYPES = (".txt", ".md", ".markdown")
HTML_TYPES = (".html", ".htm")
SUPPORTED = (*TEXT_TYPES, *HTML_TYPES, ".pdf", ".jsonl")
DEFAULT_MAX_BYTES = 20_000_000
META_KEYS = ("title", "date", "author", "url")
# Placeholders that tools write into metadata: not a real title or author.
PLACEHOLDERS = frozenset("anonymous unknown untitled none null (anonymous) (unspecified)".split())
MAX_TITLE_CHARS = 200
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class LoadError(Exception):
    """A file (or line) that cannot become an article; the message is one line."""

    def __init__(self, where: object, reason: str):
        self.where = str(where)
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{self.where}: {self.reason}")


# ----- finding files --------------------------------------------------------------------
def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files to load: a given file as is; folders walked recursively in sorted order,
    keeping supported types and skipping hidden entries and question files (``rag eval``)."""
    for path in map(Path, paths):
        if not path.is_dir():
            yield path
            continue
        for folder, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                child = Path(folder, name)
                if name.startswith(".") or child.suffix.lower() not in SUPPORTED:
                    continue
                if not is_questions_file(child):
                    yield child


def is_questions_file(path: Path) -> bool:
    """A JSONL of questions sitting among articles: its first record has ``question`` and no
    ``text``. Folder walks leave it out (``corpus/questions.jsonl``)."""
    if path.suffix.lower() != ".jsonl":
        return False
    try:
        with path.open(encoding="utf-8") as f:
            first = next((line for line in f if line.strip()), "")
        record = json.loads(first)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(record, dict) and "question" in record and "text" not in record


# ----- text helpers ---------------------------------------------------------------------
def _looks_binary(sample: str) -> bool:
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    return controls > 0.05 * max(len(sample), 1)


def refuse_binary(data: bytes, where: object) -> None:
    """Raise LoadError for data that is not text in any encoding (NUL or control bytes)."""
    if data.startswith(_UTF16_BOMS):
        return
    if b"\x00" in data[:8192] or _looks_binary(data[:8192].decode("latin-1")):
        raise LoadError(where, "binary file, not text")


def decode_text(data: bytes, where: object) -> str:
    """UTF-8 (with or without BOM) or BOM-marked UTF-16; binary data is refused."""
    refuse_binary(data, where)
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise LoadError(where, "not valid UTF-16 text") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(
            where,
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8",
        ) from None
    return text


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """``key: value`` lines between leading ``---`` lines, and the rest of the text.

    >>> split_front_matter("---\\ntitle: A\\nauthor: 'B'\\n---\\nBody")
    ({'title': 'A', 'author': 'B'}, 'Body')
    >>> split_front_matter("No front matter")
    ({}, 'No front matter')
    """
    text = text.replace("\r\n", "\n")
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    meta = {}
    for line in m.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            meta[key.strip().lower()] = value.strip().strip("\"'").strip()
    return meta, text[m.end() :]


def title_from_text(text: str, fallback: str) -> str:
    """The first line with a letter or digit when it reads like a headline, else ``fallback``.

    >>> title_from_text("# Rye bread\\n\\nBody.", "file")
    'Rye bread'
    >>> title_from_text("This is a sentence, not a headline.\\nMore.", "file")
    'file'
    """
    lines = (line.strip().lstrip("#").strip() for line in text.splitlines())
    first = next((line for line in lines if any(ch.isalnum() for ch in line)), "")
    if first and len(first) <= MAX_TITLE_CHARS and not first.endswith("."):
        return first
    return fallback


def make_article(
    source: str, text: str, meta: dict, fallback_title: str, where: object, unwrap=None
) -> Article:
    """Clean ``text`` and build the Article; ``meta`` may hold title, date, author, url."""
    meta = {k: str(meta[k]).strip() for k in META_KEYS if meta.get(k) not in (None, "")}
    meta = {k: v for k, v in meta.items() if v and v.lower() not in PLACEHOLDERS}
    author = meta.get("author") or None
    cleaned = clean_text(text, author, unwrap=unwrap)
    if not cleaned:
        raise LoadError(where, "no text after cleaning")
    title = meta.get("title") or title_from_text(cleaned, fallback_title)
    return Article(
        source=source,
        title=" ".join(title.split())[:MAX_TITLE_CHARS],
        text=cleaned,
        date=meta.get("date"),
        author=author,
        url=meta.get("url"),
    )


# ----- one loader per format ------------------------------------------------------------
def load_text(path: Path) -> list[Article]:
    """.txt / .md: optional front matter (title, date, author, url), then the article."""
    meta, body = split_front_matter(decode_text(path.read_bytes(), path))
    return [make_article(str(path.resolve()), body, meta, path.stem, path)]


def load_html(path: Path) -> list[Article]:
    """Main text without navigation, ads or footers (trafilatura), plus its metadata."""
    import trafilatura

    data = path.read_bytes()
    refuse_binary(data, path)  # any encoding is fine: trafilatura reads the declared one
    try:
        doc = trafilatura.bare_extraction(
            data,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            favor_precision=True,
            # only dates the page declares; never guesses from "Copyright 2024"
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as exc:  # lxml and trafilatura raise many kinds on broken markup
        raise LoadError(path, f"unreadable HTML ({type(exc).__name__})") from None
    text = getattr(doc, "text", None) or ""
    if not text.strip():
        raise LoadError(path, "no article text found in the HTML")
    meta = {key: getattr(doc, key, None) for key in META_KEYS}
    # trafilatura puts one block element per line: make them paragraphs
    return [make_article(str(path.resolve()), text.replace("\n", "\n\n"), meta, path.stem, path)]


def load_pdf(path: Path) -> list[Article]:
    """Text of every page (pypdf), wrapped lines re-joined; title from the PDF's metadata."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are not for users
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(path, "encrypted PDF (needs a password)")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        meta = {"title": info.title, "author": info.author} if info else {}
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise LoadError(path, f"broken PDF ({type(exc).__name__}: {exc})") from None
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise LoadError(path, "the PDF has no extractable text (scanned images?)")
    return [make_article(str(path.resolve()), text, meta, path.stem, path, unwrap=True)]


def load_jsonl(path: Path, errors: list[str] | None = None) -> list[Article]:
    """One article per line: ``text`` plus optional title, url, date, author.

    A bad line raises ``LoadError`` naming ``file:line``, or, when ``errors`` is a list, is
    reported there and the other lines still load. Source = url, else ``<file>#L<line>``.
    """
    articles: list[Article] = []
    first_line_of: dict[str, int] = {}
    bad = 0
    for lineno, line in enumerate(decode_text(path.read_bytes(), path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            article = _jsonl_article(path, lineno, line)
            if article.source in first_line_of:
                seen = first_line_of[article.source]
                raise LoadError(f"{path}:{lineno}", f"same url as line {seen}; skipped")
            first_line_of[article.source] = lineno
            articles.append(article)
        except LoadError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
            bad += 1
    if not articles and not bad:
        raise LoadError(path, "no articles in the file")
    return articles


def _jsonl_article(path: Path, lineno: int, line: str) -> Article:
    where = f"{path}:{lineno}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LoadError(where, f"invalid JSON ({exc.msg}, column {exc.colno})") from None
    if not isinstance(record, dict):
        raise LoadError(where, "expected a JSON object with a 'text' field")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise LoadError(where, "missing or empty 'text'")
    for key in META_KEYS:
        value = record.get(key)
        if value is not None and not isinstance(value, str | int | float):
            raise LoadError(where, f"'{key}' must be a string")
    url = str(record.get("url") or "").strip()
    source = url or f"{path.resolve()}#L{lineno}"
    return make_article(source, text, record, f"{path.stem} #{lineno}", where)


# ----- any file -------------------------------------------------------------------------
def load_path(
    path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES, errors: list[str] | None = None
) -> list[Article]:
    """The articles in one file (several for .jsonl). Raises ``LoadError`` with a one-line
    reason; for .jsonl, bad lines go to ``errors`` when it is given."""
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        raise LoadError(path, "is a folder (pass it to ingest_paths to walk it)")
    if not path.exists():
        raise LoadError(path, "no such file")
    if suffix not in SUPPORTED:
        raise LoadError(path, f"unsupported type '{suffix or 'none'}' (use {', '.join(SUPPORTED)})")
    size = path.stat().st_size
    if size == 0:
        raise LoadError(path, "empty file")
    if size > max_bytes:
        raise LoadError(
            path, f"too large ({size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:g} MB)"
        )
    if suffix in HTML_TYPES:
        return load_html(path)
    if suffix == ".pdf":
        return load_pdf(path)
    if suffix == ".jsonl":
        return load_jsonl(path, errors)
    return load_text(path)
