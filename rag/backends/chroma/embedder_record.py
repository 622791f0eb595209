"""The embedder that built a Chroma collection, recorded in the collection's metadata (its
name and dimension), so another model is refused instead of mixed in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.records import EmbeddingModel

if TYPE_CHECKING:
    from rag.backends.chroma.host import ChromaHost

NAME_KEY = "rag_embedder"
DIMENSION_KEY = "rag_embedding_dimension"


def _current_metadata(store: ChromaHost) -> dict:
    from chromadb.errors import NotFoundError

    try:
        collection = store.client.get_collection(store.name, embedding_function=None)
    except (NotFoundError, ValueError):
        return {}
    return dict(collection.metadata or {})


def recorded_model(store: ChromaHost) -> EmbeddingModel | None:
    """Read afresh each time: another process may have recorded it meanwhile."""
    meta = _current_metadata(store)
    name, dimension = meta.get(NAME_KEY), meta.get(DIMENSION_KEY)
    if not name or not dimension:
        return None
    return EmbeddingModel(str(name), int(dimension))


def stored_dimension(store: ChromaHost) -> int | None:
    """The dimension of a stored vector (None when there is none)."""
    got = store.chunks.get(limit=1, include=["embeddings"])
    embeddings = got.get("embeddings")
    return len(embeddings[0]) if embeddings is not None and len(embeddings) else None


def record(store: ChromaHost, model: EmbeddingModel) -> None:
    # chroma refuses "hnsw:" keys in modify (the distance stays cosine in its config)
    meta = {k: v for k, v in _current_metadata(store).items() if not k.startswith("hnsw:")}
    meta.update({NAME_KEY: model.name, DIMENSION_KEY: model.dimension})
    store.chunks.modify(metadata=meta)
