import pytest

from rag.grounding import best_span, clean_answer, sentence_containing, words

pytestmark = pytest.mark.unit

PASSAGE = (
    "SoftBank will also pay OpenAI $3 billion (£2.4bn) a year to use OpenAI’s services "
    "across its companies, including firms it invests in such as PayPay and LY."
)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("$3 billion", "$3 billion"),
        ("3 billion a year", "3 billion"),
        ("PayPay and LY", "PayPay and LY"),
        ("paypay", "PayPay"),
    ],
)
def test_best_span_is_verbatim_passage_text(reply, expected):
    span = best_span(reply, PASSAGE)
    assert span is not None
    assert PASSAGE[span.start : span.end] == expected or expected in PASSAGE[span.start : span.end]


def test_every_span_points_into_the_passage():
    for reply in ["OpenAI", "billion year", "firms it invests in", "LY."]:
        span = best_span(reply, PASSAGE)
        assert span is not None
        assert 0 <= span.start < span.end <= len(PASSAGE)
        assert 0 < span.overlap <= 1


def test_unrelated_reply_has_no_span():
    assert best_span("Paris is the capital of France", PASSAGE) is None


def test_clean_answer_strips_markers_and_quotes():
    assert clean_answer(' "PayPay." [2]') == "PayPay"


def test_words_keep_numbers_whole():
    assert [w for w, _, _ in words("1,000 people, 2.4bn")] == ["1,000", "people", "2.4bn"]


def test_sentence_containing_none_when_span_crosses_sentences():
    assert sentence_containing([(0, 10), (11, 20)], 5, 15) is None
