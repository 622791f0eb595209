"""Offline question answering over your articles, with verifiable citations.

The public API. Names load on first use, so importing one layer (``rag.core``) does not
import the others.

>>> from rag import answer
>>> a = answer("How much does SoftBank pay OpenAI?")   # doctest: +SKIP
>>> a.text, a.citations[0].quote                       # doctest: +SKIP
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ABSTAIN_TEXT": "rag.core.records",
    "Answer": "rag.core.records",
    "ArticleInfo": "rag.core.records",
    "Citation": "rag.core.records",
    "Filters": "rag.core.lexical",
    "IngestResult": "rag.core.records",
    "Passage": "rag.core.records",
    "Settings": "rag.core.settings",
    "Status": "rag.apps.api",
    "answer": "rag.apps.api",
    "article_text": "rag.apps.api",
    "delete": "rag.apps.api",
    "evaluate": "rag.apps.evaluation",
    "ingest": "rag.apps.api",
    "status": "rag.apps.api",
    "stream_answer": "rag.apps.api",
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
