"""What every Store shares, whatever holds the data: the commit rule, the metadata stored with
a chunk and an article, the health of partial state, and the embedder check.

Pure functions: ``rag.backends.chroma`` and ``rag.backends.memory`` both apply them, so the
two behave alike (``tests/rag/test_store_contract.py`` holds them to it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rag.lexical import filter_metadata
from rag.protocols import EmbedderMismatch
from rag.records import (
    Article,
    ArticleInfo,
    Chunk,
    EmbeddingModel,
    IndexHealth,
    PartialArticle,
    chunk_id_for,
)


def is_committed(chunk_id: str, text: str, meta: dict, article_hash: str | None) -> bool:
    """Whether a stored chunk belongs to its article's committed version (``article_hash``,
    None when the article has no record).

    >>> is_committed("c1", "text", {"article_hash": "h1"}, "h1")
    True
    >>> is_committed("c1", "text", {"article_hash": "h0"}, "h1"), is_committed("c1", "", {}, None)
    (False, False)
    """
    if not article_hash:
        return False
    if "article_hash" in meta:
        return meta["article_hash"] == article_hash
    start, key = int(meta.get("start", -1)), f"{meta.get('article_id', '')}:{article_hash}"
    # the id is keyed by article id and hash (by the hash alone for chunks stored earlier)
    return (
        chunk_id_for(key, start, text) == chunk_id
        or chunk_id_for(article_hash, start, text) == chunk_id
    )


def clean_metadata(meta: dict) -> dict:
    """Metadata without None values (Chroma refuses them; a missing key reads the same).

    >>> clean_metadata({"a": 1, "b": None})
    {'a': 1}
    """
    return {k: v for k, v in meta.items() if v is not None}


def chunk_metadata(article: Article, chunk: Chunk) -> dict:
    """What is stored with a chunk: its place, its article's record fields and hash, and the
    fields filters use (``site``, ``day``, ``author``).

    >>> a = Article(source="s.txt", title="T", text="Hello.", date="2024-03-07")
    >>> meta = chunk_metadata(a, Chunk("c", a.id, "Hello.", 0, 6, 0))
    >>> meta["day"], meta["start"], meta["end"], "site" in meta
    (20240307, 0, 6, False)
    """
    return clean_metadata(
        {
            "article_id": article.id,
            "source": article.source,
            "title": article.title,
            "date": article.date,
            "start": chunk.start,
            "end": chunk.end,
            "index": chunk.index,
            "article_hash": article.hash,
            **filter_metadata(article.source, article.url, article.date, article.author),
        }
    )


def article_metadata(article: Article, n_chunks: int) -> dict:
    """An article's record (its commit marker): what ``info_from`` reads back."""
    return clean_metadata(
        {
            "source": article.source,
            "title": article.title,
            "date": article.date,
            "author": article.author,
            "url": article.url,
            "hash": article.hash,
            "n_chunks": n_chunks,
        }
    )


def info_from(article_id: str, meta: dict) -> ArticleInfo:
    """An ``ArticleInfo`` from a stored record.

    >>> a = Article(source="s.txt", title="T", text="Hello.")
    >>> info = info_from(a.id, article_metadata(a, 1))
    >>> info.title, info.n_chunks, info.hash == a.hash
    ('T', 1, True)
    """
    return ArticleInfo(
        id=article_id,
        source=meta.get("source", ""),
        title=meta.get("title", ""),
        date=meta.get("date"),
        author=meta.get("author"),
        url=meta.get("url"),
        hash=meta.get("hash", ""),
        n_chunks=int(meta.get("n_chunks", 0)),
    )


def health_from(flags: Iterable[tuple[dict, bool]], articles: Iterable[ArticleInfo]) -> IndexHealth:
    """The partial state, from each stored chunk's (metadata, committed?) and the records.

    >>> infos = [ArticleInfo("a1", "a.txt", "A", None, None, None, "h", 2)]
    >>> flags = [({"article_id": "a1"}, True), ({"article_id": "b1", "source": "b.txt"}, False)]
    >>> found = health_from(flags, infos)
    >>> [(p.source, p.n_chunks, p.expected) for p in found.uncommitted + found.incomplete]
    [('b.txt', 1, None), ('a.txt', 1, 2)]
    """
    committed: dict[str, int] = {}
    loose: dict[str, tuple[dict, int]] = {}
    for meta, ok in flags:
        aid = meta.get("article_id", "")
        if ok:
            committed[aid] = committed.get(aid, 0) + 1
        else:
            loose[aid] = (meta, loose.get(aid, (meta, 0))[1] + 1)
    uncommitted = [
        PartialArticle(aid, meta.get("source", ""), meta.get("title", ""), n, None)
        for aid, (meta, n) in sorted(loose.items(), key=lambda kv: kv[1][0].get("source", ""))
    ]
    incomplete = [
        PartialArticle(i.id, i.source, i.title, committed.get(i.id, 0), i.n_chunks)
        for i in sorted(articles, key=lambda info: info.source)
        if committed.get(i.id, 0) < i.n_chunks
    ]
    return IndexHealth(uncommitted=uncommitted, incomplete=incomplete)


def owners_without_record(
    metas: Iterable[dict], recorded: Callable[[list[str]], set[str]]
) -> list[PartialArticle]:
    """Articles that own chunks (each chunk's metadata) but have no record; ``recorded``
    tells which of some article ids have one.

    >>> metas = [{"article_id": "a", "source": "a.txt", "title": "A"}, {"article_id": "b"}]
    >>> [(p.id, p.source, p.n_chunks) for p in owners_without_record(metas, lambda ids: {"b"})]
    [('a', 'a.txt', 1)]
    """
    counts: dict[str, tuple[dict, int]] = {}
    for meta in metas:
        aid = meta.get("article_id", "")
        counts[aid] = (meta, counts.get(aid, (meta, 0))[1] + 1)
    if not counts:
        return []
    have = recorded(list(counts))
    return [
        PartialArticle(aid, meta.get("source", ""), meta.get("title", ""), n, None)
        for aid, (meta, n) in counts.items()
        if aid not in have
    ]


def check_embedder_record(
    collection: str,
    used: EmbeddingModel,
    recorded: EmbeddingModel | None,
    n_chunks: int,
    stored_dimension: Callable[[], int | None],
) -> None:
    """Raise ``EmbedderMismatch`` unless ``used`` may search or add to the collection: it is
    the recorded model, or nothing is recorded and the stored vectors (if any) have its
    dimension, or the collection is empty and the recorded model had its dimension (an
    emptied collection keeps its vectors' dimension: Chroma's index is fixed by the first).

    >>> minilm, other = EmbeddingModel("minilm", 384), EmbeddingModel("other", 384)
    >>> check_embedder_record("c", minilm, minilm, 10, lambda: 384)
    >>> check_embedder_record("c", other, minilm, 0, lambda: None)  # empty: may change
    >>> check_embedder_record("c", other, minilm, 10, lambda: 384)
    Traceback (most recent call last):
    ...
    rag.protocols.EmbedderMismatch: collection 'c' was built with minilm (384 dims); ...
    >>> check_embedder_record("c", EmbeddingModel("big", 768), None, 3, lambda: 384)
    Traceback (most recent call last):
    ...
    rag.protocols.EmbedderMismatch: collection 'c' was built with an unrecorded model (384 ...
    """
    if recorded == used:
        return
    if n_chunks or (recorded and recorded.dimension != used.dimension):
        if recorded is not None:
            raise EmbedderMismatch(collection, recorded, used)
        stored = stored_dimension()  # built before models were recorded
        if stored is not None and stored != used.dimension:
            raise EmbedderMismatch(collection, f"an unrecorded model ({stored} dims)", used)
