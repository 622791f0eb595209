"""What the Chroma store's helper modules (commits, embedder record, mirror, files) use of
the store they work for: its two collections, its client and a few of its methods. Typing
them against this protocol, not ``ChromaStore``, keeps the store above its helpers (no
import runs back from a helper to the store)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from rag.records import ArticleInfo
from rag.settings import Settings


class ChromaHost(Protocol):
    settings: Settings
    name: str

    @property
    def client(self) -> Any: ...

    @property
    def chunks(self) -> Any: ...

    @property
    def articles(self) -> Any: ...

    def exists(self) -> bool: ...

    def iter_articles(self, where: dict | None = None) -> Iterator[dict]: ...

    def list_articles(self, limit: int | None = None) -> list[ArticleInfo]: ...

    def delete_article(self, article_id: str) -> int: ...

    def delete_chunks(self, ids: Iterable[str]) -> None: ...

    def count_chunks(self) -> int: ...
