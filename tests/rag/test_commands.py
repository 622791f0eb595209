"""`rag ask` output: claims with their markers, each source listed once; --json the record."""

import json

import pytest

from rag.commands import format_answer
from rag.records import Answer, Citation, Claim, ClaimCheck

pytestmark = pytest.mark.unit

OK = ClaimCheck(True, reason="verbatim")


def _answer() -> Answer:
    first = "SoftBank will also pay OpenAI $3 billion (£2.4bn) a year to use its services."
    second = "It will hire 1,000 people from SoftBank."
    citations = [
        Citation(1, "SoftBank deal", "/c/a.txt", "a", "c1", 100, 100 + len(first), first, 0.7),
        Citation(2, "SoftBank deal", "/c/a.txt", "a", "c0", 40, 40 + len(second), second, 0.6),
    ]
    claims = [Claim(first, (1,), OK), Claim(second, (2,), OK), Claim(first, (1,), OK)]
    return Answer(
        "Why?",
        f"{first} [1] {second} [2] {first} [1]",
        citations=citations,
        claims=claims,
        shape="explanation",
    )


def test_the_claims_are_wrapped_and_each_source_is_listed_once():
    out = format_answer(_answer())
    body, sources = out.split("\n\nSources:\n")
    assert all(len(line) <= 88 for line in body.splitlines())
    assert " ".join(body.split()).count("[1]") == 2 and "[2]" in body
    assert sources.count("[1] SoftBank deal — /c/a.txt (chars 100-") == 1
    assert sources.count("[2] SoftBank deal — /c/a.txt (chars 40-") == 1
    assert "“It will hire 1,000 people from SoftBank.”" in sources


def test_the_json_record_carries_claims_shape_and_short_answer():
    data = json.loads(json.dumps(_answer().to_dict()))
    assert data["shape"] == "explanation" and data["short_answer"] is None
    assert [c["citations"] for c in data["claims"]] == [[1], [2], [1]]
    assert data["claims"][0]["check"] == {
        "passed": True,
        "coverage": 1.0,
        "missing": [],
        "reason": "verbatim",
    }
