"""Offline question answering over your articles, with verifiable citations.

The lowest layer: records, settings, text utilities, protocols, the registry, backends,
retrieval, generation, the answer pipeline and the answering API. It imports nothing from
``ingest`` (loading and indexing articles) or ``ui`` (the browser chat), which build on it.

The public API. Names load on first use, so ``import rag`` stays cheap.

>>> from rag import answer
>>> a = answer("How much does SoftBank pay OpenAI?")   # doctest: +SKIP
>>> a.text, a.citations[0].quote                       # doctest: +SKIP
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ABSTAIN_TEXT": "rag.records",
    "Answer": "rag.records",
    "AnswerChain": "rag.chain",
    "ArticleRetriever": "rag.retriever",
    "ArticleInfo": "rag.records",
    "Citation": "rag.records",
    "Filters": "rag.lexical",
    "IngestResult": "rag.records",
    "Passage": "rag.records",
    "Settings": "rag.settings",
    "Status": "rag.api",
    "answer": "rag.api",
    "article_text": "rag.api",
    "delete": "rag.api",
    "repair": "rag.api",
    "status": "rag.api",
    "stream_answer": "rag.api",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
