"""Loading, cleaning, chunking and indexing of articles.

Names are imported on first use, so importing the package stays cheap.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "chunk_text": "rag.ingestion.chunking",
    "chunk_spans": "rag.ingestion.chunking",
    "split_sentences": "rag.core.text",
    "clean_text": "rag.ingestion.cleaning",
    "normalise": "rag.ingestion.cleaning",
    "strip_furniture": "rag.ingestion.cleaning",
    "SUPPORTED": "rag.ingestion.loaders",
    "LoadError": "rag.ingestion.loaders",
    "iter_files": "rag.ingestion.loaders",
    "load_path": "rag.ingestion.loaders",
    "IngestReport": "rag.ingestion.indexer",
    "ingest_articles": "rag.ingestion.indexer",
    "ingest_paths": "rag.ingestion.indexer",
    "make_chunks": "rag.ingestion.indexer",
    "remove_missing": "rag.ingestion.indexer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rag.ingestion' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
