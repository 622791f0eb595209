"""The worked examples in docstrings are tests too."""

import doctest
import importlib

import pytest

MODULES = [
    "rag.records",
    "rag.errors",
    "rag.logs",
    "rag.cli",
    "rag.commands",
    "rag.progress",
    "rag.text",
    "rag.backends.llama_check",
    "rag.backends.openai_embedder",
    "rag.settings",
    "rag.grounding",
    "rag.prompts",
    "rag.retrieval",
    "rag.pipeline",
    "rag.shapes",
    "rag.evidence",
    "rag.lexical",
    "rag.registry",
    "rag.backend_table",
    "rag.backends.chroma.host",
    "rag.storage",
    "rag.backends.memory",
    "rag.retriever",
    "rag.chain",
    "rag.tracing",
    "rag.claims",
    "rag.backends.openai_generator",
    "ingest.cleaning",
    "ingest.chunking",
    "rag.display",
    "rag.damage",
    "rag.backends.onnx_int8",
    "ingest.loaders",
]


@pytest.mark.unit
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
