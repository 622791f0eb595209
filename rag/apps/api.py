"""The public functions: answer, stream_answer, ingest, status, delete, article_text."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.core import registry
from rag.core.records import Answer, ArticleInfo
from rag.core.settings import Settings

History = Sequence[tuple[str, str]] | Sequence[dict]
_assistants: dict[Settings, object] = {}
_assistants_lock = threading.Lock()


def _settings(settings: Settings | None, overrides: dict) -> Settings:
    return (settings or Settings()).with_overrides(**overrides)


def get_assistant(settings: Settings | None = None, **overrides):
    """The process-wide assistant for these settings (models load once, on first question)."""
    from rag.core.pipeline import Assistant

    resolved = _settings(settings, overrides)
    with _assistants_lock:
        if resolved not in _assistants:
            _assistants[resolved] = Assistant(resolved)
        return _assistants[resolved]


def answer(
    question: str, *, history: History | None = None, settings: Settings | None = None, **overrides
) -> Answer:
    """Answer a question from the indexed articles, with numbered citations.

    ``overrides`` are Settings fields (``top_k=3``, ``collection="news"``, ...).
    """
    return get_assistant(settings, **overrides).answer(question, history=history)


def stream_answer(
    question: str, *, history: History | None = None, settings: Settings | None = None, **overrides
) -> Iterator[str | Answer]:
    """Yield the answer's text pieces as they are generated, then the final ``Answer``."""
    yield from get_assistant(settings, **overrides).stream_answer(question, history=history)


def ingest(
    paths: str | Path | Iterable[str | Path],
    *,
    sync: bool = False,
    progress: bool = False,
    settings: Settings | None = None,
    **overrides,
):
    """Ingest files or folders into the index; returns an ``IngestReport``."""
    from rag.ingestion import ingest_paths

    if isinstance(paths, str | Path):
        paths = [paths]
    return ingest_paths(
        list(paths), settings=_settings(settings, overrides), sync=sync, progress=progress
    )


@dataclass(frozen=True)
class Status:
    data_dir: str
    collection: str
    articles: list[ArticleInfo] = field(default_factory=list)
    n_chunks: int = 0
    embedding_model: str = ""
    llm_model: str = ""
    retrieval: str = ""

    @property
    def n_articles(self) -> int:
        return len(self.articles)


def status(settings: Settings | None = None, **overrides) -> Status:
    """What the index holds and which models answer."""
    resolved = _settings(settings, overrides)
    store = registry.open_store(resolved)
    return Status(
        data_dir=store.location(),
        collection=resolved.collection,
        articles=store.list_articles(),
        n_chunks=store.count_chunks(),
        embedding_model=registry.describe("embedder", resolved),
        llm_model=registry.describe("generator", resolved),
        retrieval=resolved.retrieval,
    )


def delete(key: str, *, settings: Settings | None = None, **overrides) -> list[ArticleInfo]:
    """Remove the articles whose source, url, title or id is ``key`` (a path may be relative)."""
    store = registry.open_store(_settings(settings, overrides))
    matches = store.find_articles(key)
    if not matches and Path(key).exists():
        matches = store.find_articles(str(Path(key).resolve()))
    for info in matches:
        store.delete_article(info.id)
    return matches


def article_text(article_id: str, *, settings: Settings | None = None, **overrides) -> str | None:
    """The stored cleaned text of an article (what citation offsets point into)."""
    return registry.open_store(_settings(settings, overrides)).article_text(article_id)
