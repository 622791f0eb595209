"""The hybrid retriever as a LangChain ``BaseRetriever``: it composes into LCEL chains, takes
filters and ``k`` through the usual search kwargs, and is traced by LangChain callbacks.

    >>> from rag import ArticleRetriever, Settings              # doctest: +SKIP
    >>> retriever = ArticleRetriever.from_settings(Settings())  # doctest: +SKIP
    >>> retriever.invoke("Who runs OpenAI?", k=2, filter={"since": "2024-01-01"})  # doctest: +SKIP
    [Document(id='…', metadata={'article_id': '…', 'title': '…', 'start': 0, …}, …)]

Each ``Document`` is one passage: its text is the chunk's text, ``id`` the chunk's id, and
its metadata the article id, title, source, date, the chunk's offsets in the article
(``start``, ``end``), its place (``index``), the retrieval ``score`` (cosine similarity) and
``rank``. ``passage_of(document_of(p)) == p``.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from rag.lexical import Filters
from rag.records import Chunk, Passage
from rag.retrieval import Mode, PassageRetriever
from rag.settings import Settings


def document_of(passage: Passage) -> Document:
    """A passage as a LangChain ``Document``.

    >>> p = Passage(Chunk("c1", "a1", "Text.", 10, 15, 2), "Title", "a.txt", None, 0.5, 0)
    >>> d = document_of(p)
    >>> d.id, d.page_content, d.metadata["start"], d.metadata["score"]
    ('c1', 'Text.', 10, 0.5)
    >>> passage_of(d) == p
    True
    """
    chunk = passage.chunk
    return Document(
        id=chunk.id,
        page_content=chunk.text,
        metadata={
            "article_id": chunk.article_id,
            "chunk_id": chunk.id,
            "title": passage.title,
            "source": passage.source,
            "date": passage.date,
            "start": chunk.start,
            "end": chunk.end,
            "index": chunk.index,
            "score": passage.score,
            "rank": passage.rank,
        },
    )


def passage_of(document: Document) -> Passage:
    """The passage a ``document_of`` document was made from."""
    meta = document.metadata
    chunk_id = document.id or meta["chunk_id"]
    chunk = Chunk(
        chunk_id,
        meta["article_id"],
        document.page_content,
        int(meta["start"]),
        int(meta["end"]),
        int(meta.get("index", 0)),
    )
    return Passage(
        chunk,
        meta.get("title", ""),
        meta.get("source", ""),
        meta.get("date"),
        float(meta.get("score", 0.0)),
        int(meta.get("rank", 0)),
    )


class ArticleRetriever(BaseRetriever):
    """Passages of the stored articles for a question: dense, BM25 or their fusion (hybrid).

    Per call (``invoke(query, k=…, filter=…)``) or for every call (``search_kwargs``):
    ``k``, passages returned; ``filter`` (or ``filters``), a ``Filters`` or a dict of
    ``source``, ``since``, ``until``, ``author``; ``embedding``, the question's vector when
    the caller has it already (it is then not embedded again).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any = Field(description="a rag.protocols.Store")
    embedder: Any = Field(description="a rag.protocols.Embedder")
    k: int = Field(4, ge=1)
    fetch_k: int = Field(20, ge=1, description="candidates per retriever before fusion")
    mode: Mode = "hybrid"
    search_kwargs: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, **fields: Any) -> ArticleRetriever:
        """The retriever of ``settings``' store, embedder, top_k, fetch_k and retrieval."""
        from rag import registry

        defaults = dict(
            store=registry.open_store(settings),
            embedder=registry.load_embedder(settings),
            k=settings.top_k,
            fetch_k=settings.fetch_k,
            mode=settings.retrieval,
        )
        return cls(**{**defaults, **fields})

    @classmethod
    def of(cls, retriever: PassageRetriever, **fields: Any) -> ArticleRetriever:
        """The LangChain retriever over the same store, embedder and options."""
        return cls(
            store=retriever.store,
            embedder=retriever.embedder,
            k=retriever.k,
            fetch_k=retriever.fetch_k,
            mode=retriever.mode,
            **fields,
        )

    def passages(
        self,
        query: str,
        *,
        k: int | None = None,
        filter: Filters | dict | None = None,  # noqa: A002 (LangChain's name for it)
        filters: Filters | dict | None = None,
        embedding: list[float] | None = None,
    ) -> list[Passage]:
        """The passages themselves (what ``invoke`` returns as documents)."""
        given = filters if filters is not None else filter
        default = self.search_kwargs.get("filters", self.search_kwargs.get("filter"))
        retriever = PassageRetriever(
            self.store, self.embedder, k=self.k, fetch_k=self.fetch_k, mode=self.mode
        )
        return retriever.retrieve(
            query,
            k=k or self.search_kwargs.get("k"),
            filters=Filters.of(given) or Filters.of(default),
            vector=embedding,
        )

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        return [document_of(p) for p in self.passages(query, **kwargs)]
