"""The UI's actions with the fake models over a real Chroma index in tmp_path."""

import doctest
import json

import pytest

import rag
import rag.apps.ui.service
from rag.apps import api
from rag.apps.ui.render import history_from_messages, message_text
from rag.apps.ui.service import Service
from rag.core.records import ABSTAIN_TEXT

pytestmark = pytest.mark.unit

QUESTION = "How much does SoftBank pay OpenAI?"


@pytest.fixture
def service(settings, fake_embedder, scripted_llm, corpus_copy) -> Service:
    settings = settings.with_overrides(min_relevance=0.0)  # hash embeddings score low
    assert rag.ingest(corpus_copy, settings=settings).ok
    return Service(settings)


def last(messages) -> str:
    return message_text(messages[-1]["content"])


def test_docstring_examples():
    assert doctest.testmod(rag.apps.ui.service).failed == 0


def test_chat_shows_pending_then_streams_then_the_cited_answer(service, scripted_llm):
    scripted_llm.reply = "$3 billion (£2.4bn) a year"
    steps = list(service.chat(QUESTION, [], top_k=4))
    assert "rag-pending" in last(steps[0])
    assert [m["role"] for m in steps[0]] == ["user", "assistant"]
    streamed = [last(s) for s in steps[1:-1]]
    assert streamed and all("rag-streaming" in s for s in streamed)
    assert "$3 billion" in streamed[-1]
    final = last(steps[-1])
    assert "rag-final" in final and "$3 billion (£2.4bn) a year" in final
    assert "SoftBank, OpenAI Create Joint Venture" in final
    assert "<mark>SoftBank will also pay OpenAI $3 billion" in final


def test_chat_passes_the_conversation_for_follow_ups(service, monkeypatch):
    seen = {}

    def fake_stream(question, *, history=None, settings=None, **overrides):
        seen.update(question=question, history=history, top_k=settings.top_k)
        yield rag.Answer(question, ABSTAIN_TEXT, abstained=True)

    earlier = [
        {"role": "user", "content": [{"type": "text", "text": "Who runs SB OpenAI Japan?"}]},
        {"role": "assistant", "content": '<div class="rag-answer">SoftBank [1]</div>'},
    ]
    monkeypatch.setattr(api, "stream_answer", fake_stream)
    final = list(service.chat("  How much does  it pay? ", earlier, top_k=7.0))[-1]
    assert seen == {
        "question": "How much does it pay?",
        "history": [("Who runs SB OpenAI Japan?", "SoftBank [1]")],
        "top_k": 7,
    }
    assert "Not in the articles" in last(final)
    assert history_from_messages(final)[-1] == ("How much does it pay?", ABSTAIN_TEXT)


def test_an_empty_question_changes_nothing(service):
    assert list(service.chat("   ", [{"role": "user", "content": "x"}])) == [
        [{"role": "user", "content": "x"}]
    ]


def test_abstention_is_shown_as_such(service, scripted_llm):
    scripted_llm.reply = "unknown"
    final = last(list(service.chat("Who won the 2018 World Cup?", []))[-1])
    assert "rag-abstain" in final and "Not in the articles" in final
    assert "rag-source" not in final


def test_errors_are_one_readable_line(service, monkeypatch):
    final = last(list(service.chat("x" * 5000, []))[-1])
    assert "rag-error" in final and "the limit is 2000" in final

    def broken(*args, **kwargs):
        raise KeyError("boom")
        yield

    monkeypatch.setattr(api, "stream_answer", broken)
    final = last(list(service.chat(QUESTION, []))[-1])
    assert "Unexpected error (KeyError: &#x27;boom&#x27;); see the server log." in final
    assert "Traceback" not in final and "File " not in final


def test_ask_returns_json_ready_data(service, scripted_llm):
    scripted_llm.reply = "$3 billion (£2.4bn) a year"
    result = service.ask(QUESTION, top_k=3)
    json.dumps(result)
    assert result["text"].startswith("$3 billion") and not result["abstained"]
    citation = result["citations"][0]
    text = rag.article_text(citation["article_id"], settings=service.settings)
    assert text[citation["start"] : citation["end"]] == citation["quote"]


def test_upload_ingests_reports_and_is_searchable_at_once(service, scripted_llm, tmp_path):
    sent = tmp_path / "browser-upload"
    sent.mkdir()
    article = sent / "Northbay Harbour.txt"
    article.write_text(
        "Harbour park opens in Northbay\n\nThe Northbay harbour park has 3,200 new trees.\n"
    )
    bad = sent / "tool.exe"
    bad.write_bytes(b"MZ")
    progress = []
    html = service.upload([article, bad], lambda i, n, name: progress.append((i, n, name)))
    assert "rag-added" in html and "Northbay Harbour.txt" in html
    assert "unsupported type .exe" in html
    assert progress == [(0, 1, "Northbay Harbour.txt"), (1, 1, "done")]
    stored = service.settings.uploads_path / "Northbay_Harbour.txt"
    assert stored.read_text().startswith("Harbour park")

    stats, choices = service.overview()
    assert "<b>2</b> articles" in stats
    assert any(label.startswith("Harbour park opens in Northbay") for label, _ in choices)

    scripted_llm.reply = "3,200 new trees"
    question = "How many new trees does the Northbay harbour park have?"
    final = last(list(service.chat(question, []))[-1])
    assert "3,200" in final and "Harbour park opens in Northbay" in final

    again = service.upload([article])
    assert "unchanged (already indexed)" in again


def test_a_file_that_fails_to_load_says_why(service, tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really a pdf")
    html = service.upload([broken])
    assert "rag-failed" in html and "broken.pdf" in html
    assert str(service.settings.uploads_path) not in html  # named as the user knows it


def test_remove_an_article(service):
    _, choices = service.overview()
    label, article_id = choices[0]
    assert "Removed: SoftBank" in service.remove(article_id)
    stats, choices = service.overview()
    assert "<b>0</b> articles" in stats and choices == []
    assert "no longer in the index" in service.remove(article_id)
    assert "Choose an article" in service.remove(None)
