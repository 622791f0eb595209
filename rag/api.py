"""The public functions: answer, stream_answer, status, delete, repair, article_text.

Ingesting is ``ingest.ingest`` (the layer above)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag import registry
from rag.lexical import Filters
from rag.locking import write_lock
from rag.records import Answer, ArticleInfo, EmbeddingModel, IndexHealth, PartialArticle
from rag.settings import Settings, resolve

History = Sequence[tuple[str, str]] | Sequence[dict]
_assistants: dict[Settings, object] = {}
_assistants_lock = threading.Lock()


def resolve_settings(settings: Settings | None, overrides: dict) -> Settings:
    return resolve(settings, **overrides)


def get_assistant(settings: Settings | None = None, **overrides):
    """The process-wide assistant for these settings (models load once, on first question)."""
    from rag.pipeline import Assistant

    resolved = resolve_settings(settings, overrides)
    with _assistants_lock:
        if resolved not in _assistants:
            _assistants[resolved] = Assistant(resolved)
        return _assistants[resolved]


IN_PROCESS = {
    "embedder": ("auto", "onnx-int8", "sentence-transformers"),
    "generator": ("llama-cpp",),
}


def preload(settings: Settings) -> threading.Thread:
    """Load this process's in-process models in a background thread, and return it (join it
    before exiting). A one-off question (``rag ask``) starts this first: the models' native
    loading runs on a second core while retrieval imports and opens the store. A failure is
    left for the first real use to raise. Models behind servers are not touched here.

    numpy is imported here first: both threads need it, and its modules import each other,
    which two threads importing it at once can find half-made (an ImportError)."""
    import numpy  # noqa: F401

    def load() -> None:
        assistant = get_assistant(settings)
        for kind in ("embedder", "generator"):
            if getattr(settings, kind) in IN_PROCESS[kind]:
                try:
                    (assistant.embedder if kind == "embedder" else assistant.llm).warm_up()
                except Exception:  # noqa: BLE001 (raised again, properly, where it is used)
                    logging.getLogger(__name__).debug("preloading the %s failed", kind)

    thread = threading.Thread(target=load, name="rag-preload", daemon=True)
    thread.start()
    return thread


def make_filters(
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    author: str | None = None,
) -> Filters | None:
    """Filters from keyword arguments (None when none is given); dates are YYYY-MM-DD."""
    return Filters.of(source=source, since=since, until=until, author=author)


def answer(
    question: str,
    *,
    history: History | None = None,
    settings: Settings | None = None,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    author: str | None = None,
    **overrides,
) -> Answer:
    """Answer a question from the indexed articles, with numbered citations.

    ``source`` (an article's site, e.g. ``reuters.com``, or its exact source), ``since`` and
    ``until`` (YYYY-MM-DD, inclusive) and ``author`` restrict the articles searched.
    ``overrides`` are Settings fields (``top_k=3``, ``collection="news"``, ...).
    """
    filters = make_filters(source, since, until, author)
    return get_assistant(settings, **overrides).answer(question, history=history, filters=filters)


def stream_answer(
    question: str,
    *,
    history: History | None = None,
    settings: Settings | None = None,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    author: str | None = None,
    **overrides,
) -> Iterator[str | Answer]:
    """Yield the answer's text pieces as they are generated, then the final ``Answer``.
    Filters as for ``answer``."""
    filters = make_filters(source, since, until, author)
    assistant = get_assistant(settings, **overrides)
    yield from assistant.stream_answer(question, history=history, filters=filters)


@dataclass(frozen=True)
class Status:
    data_dir: str
    collection: str
    articles: list[ArticleInfo] = field(default_factory=list)
    n_chunks: int = 0
    embedding_model: str = ""
    llm_model: str = ""
    retrieval: str = ""
    # filled by status(check=True): what an interrupted ingest or delete left behind
    uncommitted: list[PartialArticle] = field(default_factory=list)
    incomplete: list[PartialArticle] = field(default_factory=list)
    # what the collection records as the embedder that built it (None: nothing recorded yet)
    index_embedding_model: EmbeddingModel | None = None
    # how many articles the index holds (``articles`` may list only some: ``max_articles``)
    n_articles: int = 0


def status(
    settings: Settings | None = None,
    *,
    check: bool = False,
    max_articles: int | None = None,
    **overrides,
) -> Status:
    """What the index holds and which models answer; with ``check``, also the partial state
    an interrupted ingest or delete left (reads every chunk's metadata). ``max_articles``
    lists only that many articles (the count stays exact)."""
    resolved = resolve_settings(settings, overrides)
    store = registry.open_store(resolved)
    models = dict(
        embedding_model=registry.describe("embedder", resolved),
        llm_model=registry.describe("generator", resolved),
        retrieval=resolved.retrieval,
    )
    if not store.exists():  # nothing stored yet, and asking creates nothing
        return Status(data_dir=store.location(), collection=resolved.collection, **models)
    health = store.health() if check else IndexHealth()
    return Status(
        data_dir=store.location(),
        collection=resolved.collection,
        n_articles=store.count_articles(),
        articles=store.list_articles(limit=max_articles),
        n_chunks=store.count_chunks(),
        **models,
        uncommitted=health.uncommitted,
        incomplete=health.incomplete,
        index_embedding_model=store.embedding_model(),
    )


def collections(settings: Settings | None = None, **overrides) -> list[str]:
    """The names of the collections in the data directory (or on the Chroma server)."""
    return registry.open_store(resolve_settings(settings, overrides)).collections()


def repair(settings: Settings | None = None, **overrides) -> IndexHealth:
    """Remove what interrupted writes left (uncommitted chunks; incomplete articles, which
    the next ingest of their file adds again, whole). Returns what was found."""
    resolved = resolve_settings(settings, overrides)
    with write_lock(resolved):
        return registry.open_store(resolved).repair()


def delete(key: str, *, settings: Settings | None = None, **overrides) -> list[ArticleInfo]:
    """Remove the articles whose source, url, title or id is ``key`` (a path may be relative),
    including one stored only in part (chunks of an interrupted ingest, no record)."""
    resolved = resolve_settings(settings, overrides)
    store = registry.open_store(resolved)
    keys = [key]
    if Path(key).exists():
        keys.append(str(Path(key).resolve()))
    with write_lock(resolved):
        matches = store.find_articles(key) or (
            store.find_articles(keys[-1]) if len(keys) > 1 else []
        )
        if not matches:
            partial = [p for k in dict.fromkeys(keys) for p in store.find_uncommitted(k)]
            matches = [
                ArticleInfo(p.id, p.source, p.title, None, None, None, "", p.n_chunks)
                for p in partial
            ]
        for info in matches:
            store.delete_article(info.id)
    return matches


def article_text(article_id: str, *, settings: Settings | None = None, **overrides) -> str | None:
    """The stored cleaned text of an article (what citation offsets point into)."""
    return registry.open_store(resolve_settings(settings, overrides)).article_text(article_id)
