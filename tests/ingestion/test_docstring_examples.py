"""The worked examples in the ingest modules' docstrings (cleaning and chunking are also in
tests/test_doctests.py)."""

import doctest
import importlib

import pytest

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "name",
    [
        "rag.ingestion.chunking",
        "rag.ingestion.cleaning",
        "rag.ingestion.loaders",
        "rag.ingestion.indexer",
        "rag.apps.ingest_cli",
    ],
)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
