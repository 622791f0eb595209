"""Question shapes: the wording's proposal, checked on every labelled question we have."""

import json

import pytest

from rag.shapes import prefers_sentence, question_shape
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

DEVSET = ROOT / "bench" / "devset"


def labelled():
    for name in ("questions.jsonl", "demo_questions.jsonl"):
        for line in (DEVSET / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            yield pytest.param(row["question"], row["shape"], id=row["id"])


@pytest.mark.parametrize(("question", "shape"), list(labelled()))
def test_the_labelled_questions_get_their_shape(question, shape):
    assert question_shape(question) == shape


@pytest.mark.parametrize(
    ("question", "shape"),
    [
        ("Summarize the articles about airlines", "summary"),
        ("Can you give me a summary?", "summary"),
        ("What are these stories about?", "summary"),
        ("What happened?", "summary"),
        ("tl;dr", "summary"),
        ("Why?", "explanation"),
        ("How did the council respond?", "explanation"),
        ("Describe the route of the tram.", "explanation"),
        ("Please explain the deal.", "explanation"),
        ("In what way did Son respond?", "explanation"),
        ("What are the risks of the deal?", "explanation"),
        ("What did the judge say?", "explanation"),
        ("Has the strike ended?", "yes-no"),
        ("Can passengers get a refund?", "yes-no"),
        ("Will the fine be paid by customers or shareholders?", "factoid"),
        ("How much does SoftBank pay OpenAI?", "factoid"),
        ("How long will the strike last?", "factoid"),
        ("When did Ada Brown open the bakery?", "factoid"),
        ("Where was the announcement made?", "factoid"),
        ("Which company makes the engines?", "factoid"),
        ("What year did Calder start?", "factoid"),
        ("What is the capital of France?", "factoid"),
        ("What is the name of the union?", "factoid"),
        ("Whose shares fell?", "factoid"),
        ("", "factoid"),
    ],
)
def test_shapes_of_other_wordings(question, shape):
    assert question_shape(question) == shape


def test_a_span_that_is_most_of_its_sentence_prefers_the_sentence():
    sentence = "Ferrow sells software that watches how companies' cloud accounts are configured."
    assert prefers_sentence("software that watches how companies' cloud accounts are", sentence)
    assert not prefers_sentence("software", sentence)
