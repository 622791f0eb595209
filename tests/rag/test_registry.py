"""One registry chooses the backends that Settings name."""

from __future__ import annotations

import pytest

from rag import registry
from rag.backends.chroma import ChromaStore
from rag.errors import ConfigError
from rag.protocols import Embedder, Generator, Store
from rag.settings import Settings
from tests.fakes import HashEmbedder, ScriptedLLM

pytestmark = pytest.mark.unit


def test_fakes_and_defaults_satisfy_the_protocols(settings):
    assert isinstance(HashEmbedder(), Embedder)
    assert isinstance(ScriptedLLM(), Generator)
    assert isinstance(registry.open_store(settings), Store)
    assert isinstance(registry.open_store(settings), ChromaStore)


def test_an_unknown_backend_is_one_line_naming_the_choices(settings):
    with pytest.raises(ConfigError, match="generator=nope: generator must be one of .*llama-cpp"):
        settings.with_overrides(generator="nope")
    unchecked = settings.model_copy(update={"generator": "nope"})  # built around validation
    with pytest.raises(ConfigError, match="generator=nope: generator must be one of .*llama-cpp"):
        registry.load_generator(unchecked)


def test_a_registered_backend_is_built_once_per_configuration(settings, monkeypatch):
    built = []

    def factory(s: Settings):
        built.append(s)
        return ScriptedLLM()

    monkeypatch.setitem(registry.BACKENDS["generator"], "scripted", factory)
    chosen = settings.with_overrides(generator="scripted")
    first = registry.load_generator(chosen)
    assert registry.load_generator(chosen.with_overrides(top_k=7)) is first  # not a model field
    assert registry.load_generator(chosen.with_overrides(n_ctx=1024)) is not first
    assert len(built) == 2


def test_status_describes_backends_without_loading_them(settings):
    described = registry.describe("embedder", settings)
    assert described.startswith("auto: ") and described.endswith(("(int8 ONNX)", "(no VNNI/AMX)"))
    unchecked = settings.model_copy(update={"llm_model": "/no/such.gguf"})
    broken = registry.describe("generator", unchecked)
    assert broken == "llama-cpp: unavailable (llm_model: no such file /no/such.gguf)"
    with pytest.raises(ConfigError, match="llm_model=/no/such.gguf: llm_model must be a GGUF"):
        settings.with_overrides(llm_model="/no/such.gguf")  # checked when read
