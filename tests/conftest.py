"""Shared fixtures. Every test gets its own data directory; fakes are opt-in fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.settings import Settings
from tests.fakes import HashEmbedder, ScriptedLLM
from tests.servers import start_chroma

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED = CORPUS / "softbank-openai-japan.txt"
# A user's servers, which no test may reach unless it sets them itself.
SERVER_VARIABLES = (
    "RAG_CHROMA_URL",
    "RAG_CHROMA_TOKEN",
    "RAG_CHROMA_TENANT",
    "RAG_CHROMA_DATABASE",
    "RAG_EMBEDDER",
    "RAG_EMBEDDING_MODEL",
    "RAG_EMBEDDING_BASE_URL",
    "RAG_EMBEDDING_API_KEY",
)


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    """No test touches the user's .rag/: RAG_HOME points into tmp_path."""
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "rag-home"))
    for name in ("RAG_COLLECTION", "RAG_CHROMA_HOST", "RAG_TOP_K", "RAG_RETRIEVAL"):
        monkeypatch.delenv(name, raising=False)
    for name in SERVER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "rag-home")


@pytest.fixture
def fake_embedder(monkeypatch) -> HashEmbedder:
    """Registers a hash embedder as the process's embedding model."""
    embedder = HashEmbedder()
    monkeypatch.setattr("rag.registry.load_embedder", lambda settings: embedder)
    return embedder


@pytest.fixture
def scripted_llm(monkeypatch) -> ScriptedLLM:
    """Registers a scripted LLM (reply 'unknown' unless the test sets ``.reply``)."""
    llm = ScriptedLLM()
    monkeypatch.setattr("rag.registry.load_generator", lambda settings: llm)
    return llm


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the shipped demo corpus."""
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """One ``chroma run`` server for the session (tests use their own collections)."""
    server = start_chroma(tmp_path_factory.mktemp("chroma-server"))
    yield server
    server.stop()
