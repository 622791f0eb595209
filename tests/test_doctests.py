"""The worked examples in docstrings are tests too."""

import doctest
import importlib

import pytest

MODULES = [
    "rag.core.records",
    "rag.core.text",
    "rag.core.backends.llama_check",
    "rag.core.backends.openai_embedder",
    "rag.core.settings",
    "rag.core.grounding",
    "rag.core.prompts",
    "rag.core.retrieval",
    "rag.core.pipeline",
    "rag.ingestion.cleaning",
    "rag.ingestion.chunking",
]


@pytest.mark.unit
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
