"""The ingest function of the public API: files or folders into the index."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rag.api import resolve_settings
from rag.settings import Settings


def ingest(
    paths: str | Path | Iterable[str | Path],
    *,
    sync: bool = False,
    progress: bool = False,
    settings: Settings | None = None,
    embedder=None,
    **overrides,
):
    """Ingest files or folders into the index; returns an ``IngestReport``. ``embedder``
    replaces the process's embedder for this run (e.g. a wrapper that reports progress).

    >>> from ingest import ingest                     # doctest: +SKIP
    >>> ingest("corpus/").ok                          # doctest: +SKIP
    True
    """
    from ingest.indexer import ingest_paths

    if isinstance(paths, str | Path):
        paths = [paths]
    return ingest_paths(
        list(paths),
        settings=resolve_settings(settings, overrides),
        sync=sync,
        progress=progress,
        embedder=embedder,
    )
