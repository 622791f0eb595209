"""The on-disk lexical index: SQLite FTS5 ranked by its ``bm25()``, one file per collection.

Shared by every process that opens the same file (SQLite WAL: readers never block the
writer), updated incrementally as chunks are written and deleted, and it also holds the
collection's change counter (``revision``): one row, read in microseconds, bumped by every
write, so a reader learns in O(1) that another process changed the index.

The indexed body is the chunk's title and text through the one tokenizer
(``rag.text.tokenize``: lower case, stopwords dropped), so lexical matching is the
same as everywhere else. The ``chunks`` table keeps each chunk's text and the article
metadata that filters use (``source``, ``site``, ``day`` = YYYYMMDD, ``author``).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

from rag.errors import ConfigError, InputError
from rag.records import Chunk
from rag.text import tokenize

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO state VALUES ('revision', 0);
CREATE TABLE IF NOT EXISTS chunks(
    rowid INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL, article_id TEXT NOT NULL,
    source TEXT, site TEXT, title TEXT, date TEXT, day INTEGER, author TEXT,
    start INTEGER, "end" INTEGER, idx INTEGER, text TEXT);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
CREATE INDEX IF NOT EXISTS chunks_site ON chunks(site);
CREATE INDEX IF NOT EXISTS chunks_day ON chunks(day);
CREATE INDEX IF NOT EXISTS chunks_author ON chunks(author);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(body, tokenize='unicode61');
"""
_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
# Bounded work per question (see LexicalIndex._select_terms).
MAX_TERM_SHARE = 0.2
POSTINGS_BUDGET = 10_000


def day_number(value: str | None) -> int | None:
    """A date as a sortable YYYYMMDD integer (missing month/day count as 1); None if unknown.

    >>> day_number("2024-03-07"), day_number("2024-03-07T10:00:00Z"), day_number("2024")
    (20240307, 20240307, 20240101)
    >>> day_number("March 2024") is None, day_number(None) is None
    (True, True)
    """
    match = _DATE.match(value or "")
    if not match:
        return None
    year, month, day = (int(g) if g else 1 for g in match.groups())
    try:
        return int(date(year, month, day).strftime("%Y%m%d"))
    except ValueError:
        return None


def site_of(url: str | None) -> str | None:
    """The host of an article's URL without ``www.``, lower case.

    >>> site_of("https://www.Reuters.com/world/x"), site_of(None)
    ('reuters.com', None)
    """
    if not url:
        return None
    host = (urlparse(url).hostname or "").lower()
    return host.removeprefix("www.") or None


FILTER_FIELDS = ("source", "since", "until", "author")


@dataclass(frozen=True)
class Filters:
    """A slice of the archive: one source or site, a date range (inclusive), one author.

    >>> Filters(source="bbc.co.uk", since="2024-01-01").describe()
    'source=bbc.co.uk since=2024-01-01'
    >>> Filters(since="2024-13-01")
    Traceback (most recent call last):
    ...
    rag.errors.ConfigError: since=2024-13-01: since must be a date, YYYY-MM-DD
    """

    source: str | None = None
    since: str | None = None
    until: str | None = None
    author: str | None = None

    def __post_init__(self):
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and not _is_iso_day(value):
                raise ConfigError(name, value, "must be a date, YYYY-MM-DD")
        for name in ("source", "author"):
            value = getattr(self, name)
            if value is not None and not str(value).strip():
                object.__setattr__(self, name, None)
        if self.since and self.until and self.since > self.until:
            raise ConfigError("until", self.until, f"must not be before since ({self.since})")

    def __bool__(self) -> bool:
        return any((self.source, self.since, self.until, self.author))

    @classmethod
    def of(cls, value: Filters | dict | None = None, **fields: str | None) -> Filters | None:
        """The one place that decides "filters or none": ``Filters`` from filters, a dict or
        keyword arguments; None when they restrict nothing.

        >>> Filters.of({"source": "bbc.co.uk"}, until=None)
        Filters(source='bbc.co.uk', since=None, until=None, author=None)
        >>> Filters.of(), Filters.of({"source": " "}), Filters.of(Filters())
        (None, None, None)
        >>> Filters.of({"site": "x"})
        Traceback (most recent call last):
        ...
        rag.errors.InputError: filter 'site': unknown; use source, since, until, author
        """
        if isinstance(value, Filters):
            value = {k: getattr(value, k) for k in FILTER_FIELDS}
        merged = {**(value or {}), **{k: v for k, v in fields.items() if v is not None}}
        for key in merged:
            if key not in FILTER_FIELDS:
                raise InputError(f"filter {key!r}: unknown; use {', '.join(FILTER_FIELDS)}")
        filters = cls(**merged)
        return filters if filters else None

    @property
    def first_day(self) -> int | None:
        return day_number(self.since) if self.since else None

    @property
    def last_day(self) -> int | None:
        return day_number(self.until) if self.until else None

    def describe(self) -> str:
        parts = [(k, getattr(self, k)) for k in FILTER_FIELDS]
        return " ".join(f"{k}={v}" for k, v in parts if v)

    def sql(self, table: str = "c") -> tuple[str, list]:
        """A WHERE clause (``1`` when empty) and its parameters."""
        clauses, params = [], []
        if self.source:
            clauses.append(f"({table}.site = ? OR {table}.source = ?)")
            params += [self.source.lower(), self.source]
        if self.first_day:
            clauses.append(f"{table}.day >= ?")
            params.append(self.first_day)
        if self.last_day:
            clauses.append(f"{table}.day <= ?")
            params.append(self.last_day)
        if self.author:
            clauses.append(f"{table}.author = ?")
            params.append(self.author)
        return (" AND ".join(clauses) or "1"), params

    def chroma_where(self) -> dict | None:
        """The same slice as a Chroma ``where`` on chunk metadata."""
        clauses: list[dict] = []
        if self.source:
            clauses.append({"$or": [{"site": self.source.lower()}, {"source": self.source}]})
        if self.first_day:
            clauses.append({"day": {"$gte": self.first_day}})
        if self.last_day:
            clauses.append({"day": {"$lte": self.last_day}})
        if self.author:
            clauses.append({"author": self.author})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _is_iso_day(value: str) -> bool:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return len(str(value)) == 10


def filter_metadata(source: str, url: str | None, date_text: str | None, author: str | None):
    """The filterable fields of an article, as stored on each of its chunks."""
    return {"site": site_of(url), "day": day_number(date_text), "author": author or None}


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    meta: dict
    score: float


def _match_expression(terms: Iterable[str]) -> str:
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


class LexicalIndex:
    """One SQLite file, thread-safe: one connection per thread. With ``path=None``, one
    in-memory database on one connection, which its owner serialises (``rag.backends.memory``).
    """

    def __init__(self, path: Path | None):
        self.path = None if path is None else Path(path)
        self._local = threading.local()
        self._init_lock = threading.Lock()
        self._ready = False
        self._memory: sqlite3.Connection | None = None
        self.ready = False  # set by the store once the index is known complete (backfilled)

    # ----- connection -----------------------------------------------------------------
    @property
    def db(self) -> sqlite3.Connection:
        if self.path is None:
            with self._init_lock:
                if self._memory is None:
                    conn = sqlite3.connect(
                        ":memory:", isolation_level=None, check_same_thread=False
                    )
                    conn.executescript(_SCHEMA)
                    self._memory = conn
            return self._memory
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            with self._init_lock:
                if not self._ready:
                    conn.executescript(_SCHEMA)
                    self._ready = True
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _write(self, statements) -> int:
        """Run ``statements(db)`` in one write transaction that also bumps the revision."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            statements(db)
            db.execute("UPDATE state SET value = value + 1 WHERE key = 'revision'")
            (rev,) = db.execute("SELECT value FROM state WHERE key = 'revision'").fetchone()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return int(rev)

    # ----- state ----------------------------------------------------------------------
    def revision(self) -> int:
        """The change counter: one indexed row, however large the archive."""
        return int(self.db.execute("SELECT value FROM state WHERE key='revision'").fetchone()[0])

    def bump(self) -> int:
        return self._write(lambda db: None)

    def get_flag(self, key: str) -> int | None:
        row = self.db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def set_flag(self, key: str, value: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (key, value))

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    # ----- writes ---------------------------------------------------------------------
    def upsert(self, rows: Sequence[tuple[Chunk, dict]]) -> int:
        """Add or replace chunks; ``meta`` has title, source, date, site, day, author."""
        if not rows:
            return self.revision()

        def run(db: sqlite3.Connection) -> None:
            _delete_ids(db, [c.id for c, _ in rows])
            for chunk, meta in rows:
                cur = db.execute(
                    "INSERT INTO chunks(chunk_id, article_id, source, site, title, date, day, "
                    'author, start, "end", idx, text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
                    (
                        chunk.id,
                        chunk.article_id,
                        meta.get("source"),
                        meta.get("site"),
                        meta.get("title"),
                        meta.get("date"),
                        meta.get("day"),
                        meta.get("author"),
                        chunk.start,
                        chunk.end,
                        chunk.index,
                        chunk.text,
                    ),
                )
                body = " ".join(tokenize(f"{meta.get('title') or ''} {chunk.text}"))
                db.execute("INSERT INTO fts(rowid, body) VALUES (?, ?)", (cur.lastrowid, body))

        return self._write(run)

    def delete_chunks(self, ids: Sequence[str]) -> int:
        return self._write(lambda db: _delete_ids(db, list(ids)))

    def delete_article(self, article_id: str) -> int:
        def run(db):
            rowids = [r for (r,) in db.execute(_ROWIDS_OF_ARTICLE, (article_id,))]
            _delete_rowids(db, rowids)

        return self._write(run)

    def existing(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            part = list(ids[i : i + 500])
            marks = ",".join("?" * len(part))
            sql = f"SELECT chunk_id FROM chunks WHERE chunk_id IN ({marks})"
            found.update(r for (r,) in self.db.execute(sql, part))
        return found

    # ----- reads ----------------------------------------------------------------------
    def any_match(self, filters: Filters | None) -> bool:
        where, params = (filters or Filters()).sql()
        sql = f"SELECT 1 FROM chunks c WHERE {where} LIMIT 1"
        return self.db.execute(sql, params).fetchone() is not None

    def ids_within(self, filters: Filters | None) -> list[str]:
        """The ids of the stored chunks within ``filters`` (all of them without)."""
        where, params = (filters or Filters()).sql()
        sql = f"SELECT chunk_id FROM chunks c WHERE {where}"
        return [r for (r,) in self.db.execute(sql, params)]

    def _select_terms(self, terms: list[str]) -> list[str]:
        """The query terms to search, rarest first, within a budget of postings.

        Scoring costs time per matching chunk, and the terms found in most chunks weigh
        least in BM25 (idf near 0). So terms in more than ``MAX_TERM_SHARE`` of the chunks
        are left out, and the rarest terms are kept while their chunks add up to at most
        ``POSTINGS_BUDGET`` (the rarest is always kept): the work per question is bounded,
        whatever the archive's size. Small indexes (< 1,000 chunks) search every term.
        """
        total = self.db.execute("SELECT max(rowid) FROM chunks").fetchone()[0] or 0
        if total < 1000:
            return terms
        db = self.db
        db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, fts, row)")
        docs = {}
        for term in terms:
            row = db.execute("SELECT doc FROM temp.vocab WHERE term = ?", (term,)).fetchone()
            if row:  # a term in no chunk cannot match: left out
                docs[term] = int(row[0])
        kept, spent = [], 0
        for term in sorted(docs, key=docs.get):
            # max(rowid) over-counts after deletes: the share is a lower bound, which is enough
            if kept and (
                docs[term] > MAX_TERM_SHARE * total or spent + docs[term] > POSTINGS_BUDGET
            ):
                break
            kept.append(term)
            spent += docs[term]
        return kept

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        """The ``k`` best chunks by FTS5 ``bm25()`` (higher score = better), within filters."""
        terms = list(dict.fromkeys(tokenize(query)))
        if not terms:
            return []
        terms = self._select_terms(terms)
        if not terms:
            return []
        where, params = (filters or Filters()).sql()
        sql = (
            'SELECT c.chunk_id, c.article_id, c.text, c.start, c."end", c.idx, c.title, '
            "c.source, c.date, c.author, f.rank FROM fts f JOIN chunks c ON c.rowid = f.rowid "
            f"WHERE fts MATCH ? AND {where} ORDER BY f.rank LIMIT ?"
        )
        hits = []
        for cid, aid, text, start, end, idx, title, source, date_, author, rank in self.db.execute(
            sql, [_match_expression(terms), *params, k]
        ):
            meta = {"article_id": aid, "title": title or "", "source": source or "", "date": date_}
            meta.update(start=int(start), end=int(end), index=int(idx or 0))
            if author:
                meta["author"] = author
            chunk = Chunk(cid, aid, text, int(start), int(end), int(idx or 0))
            hits.append(Hit(chunk, meta, -float(rank)))
        return hits


_ROWIDS_OF_ARTICLE = "SELECT rowid FROM chunks WHERE article_id = ?"


def _delete_ids(db: sqlite3.Connection, ids: list[str]) -> None:
    rowids: list[int] = []
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        marks = ",".join("?" * len(part))
        rowids += [
            r for (r,) in db.execute(f"SELECT rowid FROM chunks WHERE chunk_id IN ({marks})", part)
        ]
    _delete_rowids(db, rowids)


def _delete_rowids(db: sqlite3.Connection, rowids: list[int]) -> None:
    for i in range(0, len(rowids), 500):
        part = rowids[i : i + 500]
        marks = ",".join("?" * len(part))
        db.execute(f"DELETE FROM fts WHERE rowid IN ({marks})", part)
        db.execute(f"DELETE FROM chunks WHERE rowid IN ({marks})", part)
