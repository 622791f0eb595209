"""Ingestion on the core: loading, cleaning, chunking and indexing articles, the ``rag
ingest`` and ``rag doctor`` commands, and batch evaluation (``ingest.evaluation``, which
ingests a SQuAD file's articles before asking its questions). Imports ``rag``, never ``ui``.

Names are imported on first use, so importing the package stays cheap.

>>> from ingest import ingest                     # doctest: +SKIP
>>> ingest("corpus/").summary()                   # doctest: +SKIP
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ingest": "ingest.api",
    "evaluate": "ingest.evaluation",
    "chunk_text": "ingest.chunking",
    "chunk_spans": "ingest.chunking",
    "split_sentences": "rag.text",
    "clean_text": "ingest.cleaning",
    "normalise": "ingest.cleaning",
    "strip_furniture": "ingest.cleaning",
    "SUPPORTED": "ingest.loaders",
    "LoadError": "ingest.loaders",
    "iter_files": "ingest.loaders",
    "load_path": "ingest.loaders",
    "IngestReport": "ingest.indexer",
    "ingest_articles": "ingest.indexer",
    "ingest_paths": "ingest.indexer",
    "make_chunks": "ingest.indexer",
    "remove_missing": "ingest.indexer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ingest' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
