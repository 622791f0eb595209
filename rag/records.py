"""Typed records passed between ingestion, retrieval, generation and the UI."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields, replace
from functools import cached_property

ABSTAIN_TEXT = "The articles don't say."


def content_hash(text: str) -> str:
    """Stable hex digest of a text.

    >>> content_hash("abc")[:12]
    'ba7816bf8f01'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def article_id_for(source: str) -> str:
    """Article ids are derived from the source, so a changed file keeps its id.

    >>> article_id_for("corpus/a.txt") == article_id_for("corpus/a.txt")
    True
    """
    return content_hash(source)[:16]


def chunk_id_for(article_key: str, start: int, text: str) -> str:
    """Chunk ids are derived from content: same key, text and place, same id. The indexer's
    key is the article's id and hash; chunks stored before it carried the id are recognised
    by the hash alone (``is_committed``)."""
    return content_hash(f"{article_key}:{start}:{text}")[:24]


@dataclass(frozen=True)
class Article:
    """A cleaned article. ``text`` is what chunk offsets and citations point into."""

    source: str
    title: str
    text: str
    date: str | None = None
    author: str | None = None
    url: str | None = None

    @cached_property
    def id(self) -> str:
        return article_id_for(self.source)

    @cached_property
    def hash(self) -> str:
        meta = f"{self.title}\x1f{self.date}\x1f{self.author}\x1f{self.url}"
        return content_hash(meta + "\x1e" + self.text)


@dataclass(frozen=True)
class Chunk:
    """A span of an article: ``article.text[start:end] == text``."""

    id: str
    article_id: str
    text: str
    start: int
    end: int
    index: int


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the metadata of its article and its retrieval score."""

    chunk: Chunk
    title: str
    source: str
    date: str | None
    score: float
    rank: int

    @property
    def article_id(self) -> str:
        return self.chunk.article_id


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer; ``quote`` occurs verbatim at ``start:end`` in the article."""

    number: int
    title: str
    source: str
    article_id: str
    chunk_id: str
    start: int
    end: int
    quote: str
    score: float
    date: str | None = None

    @classmethod
    def of(cls, number: int, passage: Passage, start: int, end: int, quote: str) -> Citation:
        """Citation ``number``: the sentence ``quote`` at ``start:end`` of the passage's article."""
        return cls(
            number=number,
            title=passage.title,
            source=passage.source,
            article_id=passage.article_id,
            chunk_id=passage.chunk.id,
            start=start,
            end=end,
            quote=quote,
            score=round(passage.score, 4),
            date=passage.date,
        )


SHAPES = ("factoid", "explanation", "yes-no", "summary")
UNSUPPORTED_MARK = "(unsupported)"  # after a claim that failed its check, when shown


@dataclass(frozen=True)
class ClaimCheck:
    """The result of checking one claim against the sentences it cites.

    ``passed``: every number, date, amount, name and quoted phrase of the claim occurs in its
    cited sentences, and enough of its content words do (``coverage``). ``missing`` names
    what was not found; ``reason`` says why in one line when it failed. A claim copied
    verbatim from its sentence passes with ``reason="verbatim"``.
    """

    passed: bool
    coverage: float = 1.0
    missing: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer and the numbers of the citations (``Answer.citations``)
    that support it, with the result of its check."""

    text: str
    citations: tuple[int, ...]
    check: ClaimCheck


def render_claims(claims: list[Claim]) -> str:
    """The answer's text: each claim followed by its ``[n]`` markers.

    >>> ok = ClaimCheck(True, reason="verbatim")
    >>> claims = [Claim("SoftBank pays $3bn.", (1,), ok), Claim("It hires 1,000.", (2, 3), ok)]
    >>> render_claims(claims)
    'SoftBank pays $3bn. [1] It hires 1,000. [2][3]'
    >>> render_claims([Claim("It hires 9,000.", (), ClaimCheck(False, reason="..."))])
    'It hires 9,000. (unsupported)'
    """
    return " ".join(
        f"{c.text} {''.join(f'[{n}]' for n in c.citations)}".strip()
        if c.check.passed
        else f"{c.text} {UNSUPPORTED_MARK}"
        for c in claims
    )


@dataclass
class Answer:
    """What ``answer()`` returns: claims, each citing exact sentences, rendered as ``text``.

    ``claims`` are what is shown (in order); ``text`` renders them with inline ``[n]``
    markers (``render_claims``), or is the abstention notice. ``citations`` are numbered
    once per sentence and listed once. ``short_answer`` is the span answering a factoid
    question (None for other shapes). ``shape`` is how the question was answered:
    ``factoid``, ``explanation``, ``yes-no`` or ``summary``. ``dropped`` are claims a model
    wrote that failed the check (never shown unless the settings ask to mark them).
    """

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    passages: list[Passage] = field(default_factory=list)
    standalone_question: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    copy_prob: float | None = None  # see rag.protocols.GenerationStats
    claims: list[Claim] = field(default_factory=list)
    short_answer: str | None = None
    shape: str = "factoid"
    dropped: list[Claim] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ArticleInfo:
    """What the index knows about one stored article (no full text)."""

    id: str
    source: str
    title: str
    date: str | None
    author: str | None
    url: str | None
    hash: str
    n_chunks: int


@dataclass(frozen=True)
class IngestResult:
    """Outcome for one input file or article: ``status`` is added, updated, unchanged or failed."""

    source: str
    status: str
    n_chunks: int = 0
    title: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class EmbeddingModel:
    """The embedder a collection was built with, as recorded in the collection.

    >>> str(EmbeddingModel("sentence-transformers:all-MiniLM-L6-v2", 384))
    'sentence-transformers:all-MiniLM-L6-v2 (384 dims)'
    """

    name: str
    dimension: int

    def __str__(self) -> str:
        return f"{self.name} ({self.dimension} dims)"


def chunk_from(chunk_id: str, text: str, meta: dict) -> Chunk:
    return Chunk(
        id=chunk_id,
        article_id=meta["article_id"],
        text=text,
        start=int(meta["start"]),
        end=int(meta["end"]),
        index=int(meta.get("index", 0)),
    )


def passage_from(chunk: Chunk, meta: dict, score: float, rank: int) -> Passage:
    return Passage(
        chunk=chunk,
        title=meta.get("title", ""),
        source=meta.get("source", ""),
        date=meta.get("date"),
        score=float(score),
        rank=rank,
    )


@dataclass(frozen=True)
class PartialArticle:
    """An article stored only in part: ``expected`` is its record's chunk count, or None
    when it has chunks but no record (an interrupted ingest or delete)."""

    id: str
    source: str
    title: str
    n_chunks: int
    expected: int | None


@dataclass(frozen=True)
class IndexHealth:
    """What an interrupted ingest or delete left: chunks no committed article owns, and
    articles missing some of their chunks. Both are invisible to answers until repaired."""

    uncommitted: list[PartialArticle] = field(default_factory=list)
    incomplete: list[PartialArticle] = field(default_factory=list)
    # set by a repair that rebuilt the lexical index: what was wrong with it
    lexical_rebuilt: str | None = None

    @property
    def ok(self) -> bool:
        return not self.uncommitted and not self.incomplete and not self.lexical_rebuilt

    @property
    def n_uncommitted_chunks(self) -> int:
        return sum(p.n_chunks for p in self.uncommitted)


@dataclass(frozen=True)
class BackupInfo:
    """What a backup holds: where it is, when it was made, and each collection's article and
    chunk count.

    >>> BackupInfo("/b", "2026-12-01 10:00:00 UTC", {"articles": {"articles": 2, "chunks": 9}},
    ...            4, 1000).describe()
    'the index of 2026-12-01 10:00:00 UTC (articles: 2 articles, 9 chunks)'
    """

    path: str
    created: str
    collections: dict[str, dict[str, int]]
    n_files: int
    n_bytes: int

    def describe(self) -> str:
        counts = "; ".join(
            f"{name}: {c['articles']:,} articles, {c['chunks']:,} chunks"
            for name, c in sorted(self.collections.items())
        )
        return f"the index of {self.created} ({counts or 'empty'})"


def answer_from_dict(data: dict) -> Answer:
    """An ``Answer`` back from ``Answer.to_dict()`` (e.g. a saved chat). Keys it does not
    know are ignored and missing ones take their defaults, so records saved by another
    version still load.

    >>> ok = ClaimCheck(True, reason="verbatim")
    >>> a = Answer("Who?", "Ann [1]", [Citation(1, "T", "s", "a", "c", 0, 3, "Ann", 0.9)],
    ...            claims=[Claim("Ann", (1,), ok)])
    >>> answer_from_dict(a.to_dict()) == a
    True
    """

    def known(cls, values: dict) -> dict:
        names = {f.name for f in fields(cls)}
        return {k: v for k, v in values.items() if k in names}

    def claim(c: dict) -> Claim:
        check = ClaimCheck(**known(ClaimCheck, c.get("check") or {"passed": True}))
        check = replace(check, missing=tuple(check.missing))
        return Claim(c.get("text", ""), tuple(c.get("citations") or ()), check)

    def passage(p: dict) -> Passage:
        return Passage(**{**known(Passage, p), "chunk": Chunk(**known(Chunk, p["chunk"]))})

    values = known(Answer, data)
    values["citations"] = [Citation(**known(Citation, c)) for c in data.get("citations") or []]
    values["claims"] = [claim(c) for c in data.get("claims") or []]
    values["dropped"] = [claim(c) for c in data.get("dropped") or []]
    values["passages"] = [passage(p) for p in data.get("passages") or []]
    return Answer(**{"question": "", "text": "", **values})
