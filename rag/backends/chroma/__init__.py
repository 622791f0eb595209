"""Chroma-backed storage (embedded, or a ``chroma run`` server), split by job:

- ``store``: the ``Store`` itself (articles, chunks, search);
- ``clients``: one client per data directory or server and process, reopened after other
  processes' writes; paged reads;
- ``server``: a server's checks, and its failures as one line naming it;
- ``commits``: the commit rule applied to hits, health and repair;
- ``mirror``: the full-text (SQLite FTS5) mirror of the chunks and its one-time backfill;
- ``embedder_record``: the embedder recorded with the collection;
- ``quick_import``: ``import chromadb`` without its developers' signature checks.
"""

from rag.backends.chroma.mirror import lexical_path
from rag.backends.chroma.server import ChromaServerError
from rag.backends.chroma.store import ChromaStore, create

__all__ = ["ChromaServerError", "ChromaStore", "create", "lexical_path"]
