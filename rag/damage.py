"""Telling a damaged index file from other errors, and saying so in one line.

The index is two kinds of SQLite file: Chroma's ``chroma.sqlite3`` (the store: chunks,
article records and texts) and the lexical index (``rag.lexical``, derived from the store).
A truncated or overwritten file shows up as errors deep inside Chroma or sqlite3 ("database
disk image is malformed", "file is not a database", a garbled text that is not UTF-8, or a
Chroma error about its log). Those become ``IndexDamaged``: the file and what to do.

>>> corruption_cause("error returned from database: (code: 11) database disk image is malformed")
'database disk image is malformed'
>>> corruption_cause("Collection [x] does not exist") is None
True
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rag.errors import RagError


class IndexDamaged(RagError, RuntimeError):
    """A file of the index is damaged (truncated, overwritten). The message is one line naming
    the file and what to do (repair it, or restore a backup); a run stops on it."""

    def __init__(self, path: object, cause: str, remedy: str):
        self.path, self.cause, self.remedy = str(path), cause, remedy
        super().__init__(f"{self.path} is damaged ({cause}); {remedy}")


SQLITE_HEADER = b"SQLite format 3\x00"
_CAUSES = (
    "database disk image is malformed",
    "file is not a database",
    "vtable constructor failed",
    "malformed database schema",
    "database corruption",
)
LEXICAL_REMEDY = "rebuild it from the store with `rag status --repair`"


def chroma_remedy(chroma_dir: Path) -> str:
    return (
        f"restore a backup with `rag restore BACKUP`, or move {chroma_dir} away and ingest "
        "the articles again"
    )


def corruption_cause(message: str) -> str | None:
    """The words of a corruption error in ``message`` (None: not a corruption error)."""
    low = message.lower()
    return next((cause for cause in _CAUSES if cause in low), None)


def _messages(exc: BaseException) -> str:
    """The messages of ``exc`` and of the exceptions it came from."""
    parts, seen = [], exc
    while seen is not None and len(parts) < 8:
        parts.append(str(seen))
        seen = seen.__cause__ or seen.__context__
    return " | ".join(parts)


def sqlite_problem(path: Path, texts: bool = False) -> str | None:
    """What is wrong with the SQLite file at ``path`` (None: nothing found): missing or
    foreign header, or the first problem ``PRAGMA quick_check`` finds (it reads every page);
    with ``texts``, also a stored text that is not UTF-8 (read table by table)."""
    try:
        with open(path, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot read it: {exc.strerror or exc}"
    if header != SQLITE_HEADER:
        return "file is not a database" if header else "the file is empty"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
            problem = _first_problem(rows)
            if problem is None and texts:
                problem = _undecodable_text(conn)
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return None  # a writer holds it: not damage
        return " ".join(str(exc).split())
    except sqlite3.DatabaseError as exc:
        return " ".join(str(exc).split())
    return problem


def _first_problem(rows: list) -> str | None:
    lines = [line for row in rows for line in str(row[0]).splitlines()]
    problems = [line.strip() for line in lines if line.strip() not in ("ok", "")]
    problems = [line for line in problems if not line.startswith("***")]  # "*** in database"
    if not problems:
        return None
    more = f", and {len(problems) - 1} more problems" if len(problems) > 1 else ""
    return problems[0][:160] + more


def _undecodable_text(conn: sqlite3.Connection) -> str | None:
    """The first stored text that is not UTF-8, as 'table T holds a text that is not UTF-8'."""
    conn.text_factory = bytes
    tables = [
        name.decode() if isinstance(name, bytes) else name
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    ]
    for table in tables:
        quoted = '"' + table.replace('"', '""') + '"'
        try:
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({quoted})")]
        except sqlite3.DatabaseError:
            continue  # a virtual table whose module is not loaded here
        columns = [c.decode() if isinstance(c, bytes) else c for c in columns]
        if not columns:
            continue
        picks = ", ".join(f'typeof("{c}"), "{c}"' for c in columns)
        try:
            cursor = conn.execute(f"SELECT {picks} FROM {quoted}")
        except sqlite3.DatabaseError:
            continue
        for row in cursor:
            for kind, value in zip(row[::2], row[1::2], strict=True):
                if kind == b"text" and isinstance(value, bytes):
                    try:
                        value.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        return f"table {table} holds a text that is not UTF-8 ({exc.reason})"
    return None


def chroma_damage(exc: BaseException, chroma_dir: Path) -> IndexDamaged | None:
    """``IndexDamaged`` naming Chroma's SQLite file when ``exc`` comes from its being damaged
    (checked with ``sqlite_problem`` when the message does not say); else None."""
    if isinstance(exc, IndexDamaged):
        return exc
    db = chroma_dir / "chroma.sqlite3"
    cause = corruption_cause(_messages(exc))
    if cause is None:
        if not _is_chroma_error(exc):
            return None
        cause = sqlite_problem(db, texts=True)
        if cause is None:
            return None
    return IndexDamaged(db, cause, chroma_remedy(chroma_dir))


def _is_chroma_error(exc: BaseException) -> bool:
    from chromadb.errors import ChromaError, NotFoundError

    return isinstance(exc, ChromaError) and not isinstance(exc, NotFoundError)


def lexical_damage(exc: BaseException, path: Path) -> IndexDamaged | None:
    """``IndexDamaged`` naming the lexical index when ``exc`` (from sqlite3, or decoding its
    text) says it is damaged; else None. A busy or locked database is not damage."""
    if isinstance(exc, UnicodeDecodeError):
        return IndexDamaged(path, f"a stored text is not UTF-8 ({exc.reason})", LEXICAL_REMEDY)
    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    if "could not decode to utf-8" in str(exc).lower():  # sqlite3's words for a garbled text
        return IndexDamaged(path, "a stored text is not UTF-8", LEXICAL_REMEDY)
    cause = corruption_cause(str(exc))
    code = getattr(exc, "sqlite_errorcode", None)  # not set on every sqlite3 error
    if cause is None and code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        cause = " ".join(str(exc).split())
    if cause is None:
        return None
    return IndexDamaged(path, cause, LEXICAL_REMEDY)
