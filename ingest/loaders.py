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

from ingest.cleaning import clean_text
from rag.errors import InputError
from rag.records import Article

TEXT_TYPES = (".txt", ".md", ".markdown")
HTML_TYPES = (".html", ".htm")
SUPPORTED = (*TEXT_TYPES, *HTML_TYPES, ".pdf", ".jsonl")
DEFAULT_MAX_BYTES = 20_000_000
DEFAULT_MAX_CHARS = 2_000_000  # Settings.max_article_chars
# A PDF page's drawing instructions, decompressed: pypdf's text extraction slows down more
# than linearly with them (1.6 MB of text operators: 3.7 s), so a page holding more is
# refused before extraction, as is a file whose pages hold more than 10x max_chars in all.
MAX_PDF_PAGE_CONTENT = 2_000_000
META_KEYS = ("title", "date", "author", "url")
# Placeholders that tools write into metadata: not a real title or author.
PLACEHOLDERS = frozenset("anonymous unknown untitled none null (anonymous) (unspecified)".split())
MAX_TITLE_CHARS = 200
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class LoadError(InputError):
    """A file (or line) that cannot become an article; the message is one line."""

    def __init__(self, where: object, reason: str):
        self.where = str(where)
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{self.where}: {self.reason}")


# ----- finding files --------------------------------------------------------------------
def iter_files(
    paths: Iterable[str | Path], skipped: list[tuple[Path, str]] | None = None
) -> Iterator[Path]:
    """Files to load: a given file as is; folders walked recursively in sorted order,
    keeping supported types and skipping hidden entries and question files (``rag eval``).

    Files of other types and linked folders (never followed: no loops) are appended to
    ``skipped`` with the reason, when it is given, so the caller can name them.
    """
    for path in map(Path, paths):
        if not path.is_dir():
            yield path
            continue
        for folder, dirs, names in os.walk(path):
            visible = sorted(d for d in dirs if not d.startswith("."))
            dirs[:] = [d for d in visible if not Path(folder, d).is_symlink()]
            if skipped is not None:
                skipped.extend(
                    (Path(folder, d), "linked folder, not followed")
                    for d in visible
                    if Path(folder, d).is_symlink()
                )
            for name in sorted(names):
                child = Path(folder, name)
                if name.startswith("."):
                    continue
                if child.suffix.lower() not in SUPPORTED:
                    if skipped is not None:
                        kind = child.suffix.lower() or "no extension"
                        skipped.append((child, f"unsupported type '{kind}'"))
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
def refuse_long(text: str, where: object, max_chars: int) -> str:
    """``text``, or LoadError when it is longer than ``max_chars`` (checked before cleaning
    and chunking, so a huge text costs no more work)."""
    if len(text) > max_chars:
        raise LoadError(
            where,
            f"too much text ({len(text):,} characters; the limit is {max_chars:,}, "
            "RAG_MAX_ARTICLE_CHARS)",
        )
    return text


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
def load_text(path: Path, max_chars: int = DEFAULT_MAX_CHARS) -> list[Article]:
    """.txt / .md: optional front matter (title, date, author, url), then the article."""
    text = refuse_long(decode_text(path.read_bytes(), path), path, max_chars)
    meta, body = split_front_matter(text)
    return [make_article(str(path.resolve()), body, meta, path.stem, path)]


def load_html(path: Path, max_chars: int = DEFAULT_MAX_CHARS) -> list[Article]:
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
    refuse_long(text, path, max_chars)
    meta = {key: getattr(doc, key, None) for key in META_KEYS}
    # trafilatura puts one block element per line: make them paragraphs
    return [make_article(str(path.resolve()), text.replace("\n", "\n\n"), meta, path.stem, path)]


def load_pdf(path: Path, max_chars: int = DEFAULT_MAX_CHARS) -> list[Article]:
    """Text of every page (pypdf), wrapped lines re-joined; title from the PDF's metadata.

    Pages are extracted one at a time and extraction stops at ``max_chars``; a page with
    more than ``MAX_PDF_PAGE_CONTENT`` bytes of drawing instructions is refused unread.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are not for users
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(path, "encrypted PDF (needs a password)")
        pages = _pdf_pages(reader, path, max_chars)
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


def _pdf_pages(reader, path: Path, max_chars: int) -> list[str]:
    pages: list[str] = []
    n_chars = n_content = 0
    for number, page in enumerate(reader.pages, 1):
        contents = page.get_contents()
        size = len(contents.get_data()) if contents is not None else 0
        n_content += size
        if size > MAX_PDF_PAGE_CONTENT or n_content > 10 * max_chars:
            raise LoadError(
                path,
                f"page {number} holds {size / 1e6:.1f} MB of drawing instructions "
                f"({n_content / 1e6:.1f} MB so far); refused unread (compression bomb?)",
            )
        text = page.extract_text() or ""
        n_chars += len(text)
        if n_chars > max_chars:
            raise LoadError(
                path,
                f"too much text (over {max_chars:,} characters by page {number}; the limit "
                "is RAG_MAX_ARTICLE_CHARS)",
            )
        pages.append(text)
    return pages


def load_jsonl(
    path: Path, errors: list[str] | None = None, max_chars: int = DEFAULT_MAX_CHARS
) -> list[Article]:
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
            refuse_long(line, f"{path}:{lineno}", max_chars)
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
    path: str | Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
    errors: list[str] | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
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
        return load_html(path, max_chars)
    if suffix == ".pdf":
        return load_pdf(path, max_chars)
    if suffix == ".jsonl":
        return load_jsonl(path, errors, max_chars)
    return load_text(path, max_chars)
