"""Retrieval components over a ``Store``: dense, lexical (BM25) and their reciprocal-rank
fusion. Each takes a ``Query`` as data (its text, its vector, its filters): the question is
embedded once, by whoever asks (``embed_question``), and every component reads that vector.

Filters are applied inside the store by both searches (``Store.dense_search`` and
``Store.lexical_search``), never by filtering a top-k afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from rag.errors import ConfigError
from rag.lexical import Filters
from rag.protocols import Embedder, Store
from rag.records import Passage

Mode = Literal["dense", "bm25", "hybrid"]


@dataclass(frozen=True)
class Query:
    """A question as retrievers take it: its text, its embedding, the slice of the archive."""

    text: str
    vector: Sequence[float]
    filters: Filters | None = None


def embed_question(store: Store, embedder: Embedder, text: str) -> list[float]:
    """The question's vector, once the store has checked that ``embedder`` built it (a
    cheap check after the first)."""
    store.check_embedder(embedder)
    return embedder.embed_query(text)


class Retriever(Protocol):
    def retrieve(self, query: Query, k: int) -> list[Passage]: ...


class DenseRetriever:
    """The store's nearest committed chunks to the question's vector."""

    def __init__(self, store: Store):
        self.store = store

    def retrieve(self, query: Query, k: int) -> list[Passage]:
        return self.store.dense_search(query.vector, k, query.filters)


class LexicalRetriever:
    """The store's best committed chunks by BM25 over the question's words."""

    def __init__(self, store: Store):
        self.store = store

    def retrieve(self, query: Query, k: int) -> list[Passage]:
        return self.store.lexical_search(query.text, k, query.filters)


def reciprocal_rank_fusion(rankings: list[list[Passage]], k: int, c: int = 60) -> list[Passage]:
    """Fuse ranked lists: score(d) = sum 1/(c + rank). Keeps the first list's passage records.

    >>> from rag.records import Chunk
    >>> def p(cid, rank): return Passage(Chunk(cid, "a", "", 0, 0, 0), "", "", None, 0.0, rank)
    >>> [x.chunk.id for x in reciprocal_rank_fusion([[p("x", 0), p("y", 1)], [p("y", 0)]], 2)]
    ['y', 'x']
    """
    fused: dict[str, float] = {}
    first: dict[str, Passage] = {}
    for ranking in rankings:
        for passage in ranking:
            cid = passage.chunk.id
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (c + passage.rank + 1)
            first.setdefault(cid, passage)
    order = sorted(fused, key=lambda cid: fused[cid], reverse=True)[:k]
    return [replace(first[cid], rank=rank) for rank, cid in enumerate(order)]


class HybridRetriever:
    """Dense and BM25 candidates (``fetch_k`` each) fused by reciprocal rank; scores stay
    the dense similarity (0 for a passage only BM25 found)."""

    def __init__(self, dense: DenseRetriever, lexical: LexicalRetriever, fetch_k: int):
        self.dense = dense
        self.lexical = lexical
        self.fetch_k = fetch_k

    def retrieve(self, query: Query, k: int) -> list[Passage]:
        depth = max(self.fetch_k, k)
        dense = self.dense.retrieve(query, depth)
        lexical = self.lexical.retrieve(query, depth)
        fused = reciprocal_rank_fusion([dense, lexical], k)
        similarity = {p.chunk.id: p.score for p in dense}
        return [replace(p, score=similarity.get(p.chunk.id, 0.0)) for p in fused]


def retriever_for(store: Store, mode: Mode, fetch_k: int) -> Retriever:
    """The retriever ``RAG_RETRIEVAL`` names: ``dense``, ``bm25`` or ``hybrid``."""
    if mode == "dense":
        return DenseRetriever(store)
    if mode == "bm25":
        return LexicalRetriever(store)
    if mode == "hybrid":
        return HybridRetriever(DenseRetriever(store), LexicalRetriever(store), fetch_k)
    raise ConfigError("retrieval", mode, "must be one of dense, bm25, hybrid")


class PassageRetriever:
    """Passages of the stored articles for a question: the retriever ``mode`` names over
    ``store``, the question embedded by ``embedder`` unless its vector is given.
    ``rag.retriever.ArticleRetriever`` is this as a LangChain retriever."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        *,
        k: int = 4,
        fetch_k: int = 20,
        mode: Mode = "hybrid",
    ):
        self.store, self.embedder = store, embedder
        self.k, self.fetch_k, self.mode = k, fetch_k, mode
        self._retriever = retriever_for(store, mode, fetch_k)

    def embed(self, text: str) -> list[float]:
        return embed_question(self.store, self.embedder, text)

    def retrieve(
        self,
        text: str,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        vector: Sequence[float] | None = None,
    ) -> list[Passage]:
        vector = vector if vector is not None else self.embed(text)
        return self._retriever.retrieve(Query(text, vector, filters), k or self.k)
