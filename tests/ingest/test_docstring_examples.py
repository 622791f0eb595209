"""The worked examples in the ingest modules' docstrings (cleaning and chunking are also in
tests/test_doctests.py)."""

import doctest
import importlib

import pytest

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "name",
    [
        "ingest.chunking",
        "ingest.cleaning",
        "ingest.loaders",
        "ingest.indexer",
        "ingest.cli",
    ],
)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
