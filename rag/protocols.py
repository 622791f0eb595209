"""What the pipeline and the indexer need from an embedder, a generator and a store.

Each backend (``rag.backends``) implements one of these; ``rag.registry`` builds
the one that ``Settings`` names. Test fakes implement them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rag.errors import RagError, Unavailable
from rag.lexical import Filters
from rag.records import (
    Article,
    ArticleInfo,
    Chunk,
    EmbeddingModel,
    IndexHealth,
    PartialArticle,
    Passage,
)

DEFAULT_STOP = ("\n",)


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into normalised vectors. ``name`` and ``dimension`` are recorded with
    the collection it builds, so a different model is refused instead of mixed in."""

    name: str

    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...

    def warm_up(self) -> None:
        """Load the model (or reach the server) now rather than on the first request."""
        ...


class ServerUnavailable(Unavailable):
    """A server behind a backend cannot be used (down, refusing us, misconfigured). The
    message is one line naming its URL; a run stops on it rather than failing item by item."""


class EmbedderMismatch(RagError, ValueError):
    """The collection was built with another embedding model: its vectors and this model's
    are not comparable, so searching or adding would give nonsense."""

    def __init__(self, collection: str, recorded: EmbeddingModel | str, used: EmbeddingModel):
        self.collection, self.recorded, self.used = collection, recorded, used
        super().__init__(
            f"collection {collection!r} was built with {recorded}; this run uses {used}. "
            "Use another --collection, or set RAG_EMBEDDER/RAG_EMBEDDING_MODEL back"
        )


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int


@dataclass
class GenerationStats:
    """Filled in by ``stream`` as it runs.

    ``copy_prob``: with ``copy_from``, the probability the model gave, before any masking,
    to starting its answer with words of the sources; a low value means it wanted to write
    something else (often: the sources do not hold the answer). None when the backend
    cannot tell. ``cut_off``: the reply stopped at ``max_tokens``, mid-sentence perhaps.
    """

    copy_prob: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cut_off: bool = False


@runtime_checkable
class Generator(Protocol):
    """A language model that completes prompts (in-process or behind a server).

    ``free_text``: the model answers in its own words from numbered passages, and the
    pipeline checks every claim of its reply (``rag.free_text``, ``rag.claims``); when False
    it copies one span of ``copy_from`` (the evidence sentences). ``chat``: the prompt is
    sent as a user message after ``system`` (an instruction-tuned model); when False the
    model completes the prompt as written (a base model, worked examples).
    """

    name: str
    free_text: bool
    chat: bool

    def stream(
        self,
        prompt: str,
        *,
        max_tokens: int = 32,
        stop: Sequence[str] = DEFAULT_STOP,
        copy_from: Sequence[str] | None = None,
        stats: GenerationStats | None = None,
        system: str | None = None,
        cite: int = 0,
    ) -> Iterator[str]:
        """Yield the completion's text; with ``copy_from``, only a run of their words.
        ``system`` is the system message of a chat model (ignored by the others). With
        ``cite`` (the number of passages the prompt gives), a backend that can constrain
        decoding makes every sentence end with a marker of one of them (others ignore it)."""
        ...

    def context_window(self) -> int:
        """Tokens the model takes, prompt and answer together."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` for this model (an upper estimate where it cannot tell)."""
        ...

    def complete(
        self, prompt: str, *, max_tokens: int = 32, stop: Sequence[str] = DEFAULT_STOP
    ) -> Completion: ...

    def warm_up(self) -> None: ...


@runtime_checkable
class Store(Protocol):
    """Chunks with their embeddings, and each article's text and record: everything the
    pipeline, the indexer and the commands use, and nothing else (no caller reaches past it).

    An article's record is written after its chunks: it is the commit marker of an ingest.
    Reads for answers (``dense_search``, ``lexical_search``, ``all_chunks``) return committed
    chunks only. ``filters`` (``rag.lexical.Filters``; None or empty: the whole index) are
    applied inside the store, never by filtering a top-k afterwards.
    ``tests/rag/test_store_contract.py`` is the contract, run against every backend.
    """

    name: str

    # ----- search ---------------------------------------------------------------------
    def dense_search(
        self, embedding: Sequence[float], k: int, filters: Filters | None = None
    ) -> list[Passage]:
        """The ``k`` committed chunks nearest to ``embedding`` (score: cosine similarity)."""
        ...

    def lexical_search(self, query: str, k: int, filters: Filters | None = None) -> list[Passage]:
        """The ``k`` best committed chunks by BM25 over title and text (``rag.text.tokenize``);
        higher scores are better."""
        ...

    def any_match(self, filters: Filters | None) -> bool:
        """Whether any stored chunk lies within ``filters`` (an indexed lookup)."""
        ...

    # ----- articles and their records (commit markers) --------------------------------
    def article_info(self, article_id: str) -> ArticleInfo | None: ...

    def article_text(self, article_id: str) -> str | None: ...

    def list_articles(self, limit: int | None = None) -> list[ArticleInfo]:
        """By source; with ``limit``, only that many (which ones is the store's choice)."""
        ...

    def count_articles(self) -> int: ...

    def find_articles(self, key: str) -> list[ArticleInfo]:
        """Articles whose id, source, url or title equals ``key``, by source."""
        ...

    def put_article(self, article: Article, n_chunks: int) -> None: ...

    def put_articles(self, items: Sequence[tuple[Article, int]]) -> None:
        """Several commit records in one write (each as ``put_article`` takes it)."""
        ...

    def delete_article(self, article_id: str) -> int:
        """Record first, then chunks: a kill part-way leaves only uncommitted chunks.
        Returns the number of chunks removed."""
        ...

    # ----- chunks and their owners ----------------------------------------------------
    def chunk_ids_of(self, article_id: str) -> list[str]:
        """Every stored chunk of the article, committed or not."""
        ...

    def chunk_ids_by_article(self, article_ids: Sequence[str]) -> dict[str, list[str]]:
        """``chunk_ids_of`` for several articles in one read (absent ones have no key)."""
        ...

    def existing_chunk_ids(self, ids: Sequence[str]) -> set[str]: ...

    def upsert_chunks(
        self, article: Article, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]]
    ) -> None: ...

    def upsert_many(
        self, items: Sequence[tuple[Article, Sequence[Chunk], Sequence[Sequence[float]]]]
    ) -> None:
        """Several articles' chunks in one write (each item as ``upsert_chunks`` takes it)."""
        ...

    def delete_chunks(self, ids: Iterable[str]) -> None: ...

    def count_chunks(self) -> int:
        """Every stored chunk, committed or not."""
        ...

    def all_chunks(self, committed_only: bool = True) -> list[tuple[Chunk, dict]]:
        """Every committed chunk with its metadata (all of them with ``committed_only=False``)."""
        ...

    def find_uncommitted(self, source: str | None = None) -> list[PartialArticle]:
        """Articles with chunks (from ``source``, or anywhere) but no record."""
        ...

    # ----- health and repair ----------------------------------------------------------
    def health(self) -> IndexHealth:
        """Uncommitted chunks and incomplete articles (a full scan: not per question)."""
        ...

    def repair(self) -> IndexHealth:
        """Remove what ``health`` finds; returns it. The caller holds the write lock."""
        ...

    # ----- the index as a whole -------------------------------------------------------
    def revision(self) -> str:
        """A cheap token (O(1), whatever the archive's size) that changes whenever stored
        content changes, in this process or another."""
        ...

    def exists(self) -> bool:
        """Whether the collection has been created (an empty one counts); creates nothing."""
        ...

    def collections(self) -> list[str]:
        """The names of the collections where this one lives (a data directory, a server's
        database), sorted; creates nothing."""
        ...

    def location(self) -> str:
        """Where the index lives, for ``rag status`` (a directory or a URL)."""
        ...

    # ----- the embedder that built the collection -------------------------------------
    def embedding_model(self) -> EmbeddingModel | None:
        """The embedder recorded with the collection (None: nothing recorded yet)."""
        ...

    def check_embedder(self, embedder: Embedder, *, write: bool = False) -> None:
        """Raise ``EmbedderMismatch`` unless the collection was built with ``embedder`` (or
        is empty, or holds vectors of its dimension and no record). With ``write``, record
        it when nothing is recorded. Cheap after the first successful call."""
        ...
