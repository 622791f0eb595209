"""The worked examples in the evaluation modules' docstrings."""

import doctest

import pytest

from ingest.evaluation import datasets, metrics, report

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("module", [metrics, datasets, report], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0
