"""Retrievers over a ``Store``: dense, lexical (BM25) and their reciprocal-rank fusion.

Filters (``rag.lexical.Filters``) are applied inside the store by both retrievers
(a Chroma ``where`` and an SQL ``WHERE``), never by filtering a top-k afterwards.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from rag.lexical import Filters
from rag.protocols import Embedder, Store
from rag.records import Passage, passage_from
from rag.text import tokenize


class DenseRetriever:
    """Dense retrieval: the store's nearest chunks to the question's embedding."""

    def __init__(self, store: Store, embedder: Embedder):
        self.store = store
        self.embedder = embedder

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[Passage]:
        if self.store.count_chunks() == 0:
            return []
        vector = self.embedder.embed_query(query)
        self.store.check_embedder(self.embedder)  # cheap once it has passed
        if filters:
            return self.store.dense_search(vector, k, filters)
        return self.store.dense_search(vector, k)


class BM25Retriever:
    """Lexical retrieval: the store's own on-disk index (``store.lexical_search``) when it has
    one; otherwise (a store without it, e.g. a test fake) an in-memory BM25 over all chunks,
    rebuilt when ``store.revision()`` changes."""

    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()
        self._revision: str | None = None
        self._index = None
        self._entries: list = []

    def _ensure_index(self) -> None:
        revision = self.store.revision()
        if revision == self._revision:
            return
        from rank_bm25 import BM25Okapi

        entries = self.store.all_chunks()
        corpus = [tokenize(f"{meta.get('title', '')} {chunk.text}") for chunk, meta in entries]
        self._index = BM25Okapi(corpus) if entries else None
        self._entries = entries
        self._revision = revision

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[Passage]:
        search = getattr(self.store, "lexical_search", None)
        if search is not None:
            return search(query, k, filters) if filters else search(query, k)
        if filters:
            raise ValueError(f"{self.store.name}: this store cannot filter ({filters.describe()})")
        with self._lock:
            self._ensure_index()
            if self._index is None:
                return []
            scores = self._index.get_scores(tokenize(query))
            order = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)[:k]
            return [
                passage_from(self._entries[i][0], self._entries[i][1], float(scores[i]), rank)
                for rank, i in enumerate(order)
                if scores[i] > 0
            ]


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
    """Dense and BM25 candidates fused by reciprocal rank; scores stay the dense similarity."""

    def __init__(self, dense: DenseRetriever, lexical: BM25Retriever, fetch_k: int):
        self.dense = dense
        self.lexical = lexical
        self.fetch_k = fetch_k

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[Passage]:
        dense = self.dense.retrieve(query, self.fetch_k, filters)
        lexical = self.lexical.retrieve(query, self.fetch_k, filters)
        fused = reciprocal_rank_fusion([dense, lexical], k)
        similarity = {p.chunk.id: p.score for p in dense}
        return [replace(p, score=similarity.get(p.chunk.id, 0.0)) for p in fused]
