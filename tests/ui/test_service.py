"""The UI's actions with the fake models over a real Chroma index in tmp_path."""

import doctest
import json
import logging
import os
import threading
import time

import pytest

import ingest
import rag
import ui.service
from rag import api
from rag.records import ABSTAIN_TEXT
from ui import render
from ui.render import message_text
from ui.service import Service, history_of

pytestmark = pytest.mark.unit

QUESTION = "How much does SoftBank pay OpenAI?"


@pytest.fixture
def service(settings, fake_embedder, scripted_llm, corpus_copy):
    settings = settings.with_overrides(min_relevance=0.0)  # hash embeddings score low
    assert ingest.ingest(corpus_copy, settings=settings).ok
    service = Service(settings)
    yield service
    service.close()


def last(step) -> str:
    """The text of the last chat message of one step of ``Service.chat`` (messages, turns)."""
    messages, _ = step
    return message_text(messages[-1]["content"])


def test_docstring_examples():
    assert doctest.testmod(ui.service).failed == 0


def test_chat_shows_pending_then_streams_then_the_cited_answer(service, scripted_llm):
    scripted_llm.reply = "$3 billion (£2.4bn) a year"
    steps = list(service.chat(QUESTION, [], [], top_k=4))
    assert "rag-pending" in last(steps[0])
    assert [m["role"] for m in steps[0][0]] == ["user", "assistant"]
    assert all(turns == [] for _, turns in steps[:-1])  # a turn is added once complete
    [turn] = steps[-1][1]
    assert turn["question"] == QUESTION and turn["answer"]["text"].startswith("$3 billion")
    assert turn["answer"]["citations"][0]["title"].startswith("SoftBank, OpenAI Create")
    assert "passages" not in turn["answer"]
    streamed = [last(s) for s in steps[1:-1]]
    assert streamed and all("rag-streaming" in s for s in streamed)
    assert "$3 billion" in streamed[-1]
    final = last(steps[-1])
    assert "rag-final" in final and "$3 billion (£2.4bn) a year" in final
    assert "SoftBank, OpenAI Create Joint Venture" in final
    assert "<mark>SoftBank will also pay OpenAI $3 billion" in final


def test_follow_ups_use_the_conversation_state_not_the_rendered_chat(service, monkeypatch):
    seen = []

    def fake_stream(question, *, history=None, settings=None, **overrides):
        seen.append({"question": question, "history": history, "top_k": settings.top_k})
        yield "Soft"
        first = len(seen) == 1
        yield rag.Answer(question, "SoftBank [1]" if first else ABSTAIN_TEXT, abstained=not first)

    monkeypatch.setattr(api, "stream_answer", fake_stream)
    messages, turns = list(service.chat("Who runs SB OpenAI Japan?", [], [], top_k=7.0))[-1]
    # the chat shows HTML; what a follow-up is resolved against is the state, as data
    tampered = [{**m, "content": "<div class='rag-answer'>Mallory</div>"} for m in messages]
    final = list(service.chat("  How much does  it pay? ", tampered, turns, top_k=7.0))[-1]
    assert seen[1] == {
        "question": "How much does it pay?",
        "history": [("Who runs SB OpenAI Japan?", "SoftBank [1]")],
        "top_k": 7,
    }
    assert "Not in the articles" in last(final)
    assert history_of(final[1]) == [
        ("Who runs SB OpenAI Japan?", "SoftBank [1]"),
        ("How much does it pay?", ABSTAIN_TEXT),
    ]
    assert len(final[0]) == 4  # the chat shows both exchanges


def test_a_failed_turn_is_shown_but_not_kept_as_conversation(service, monkeypatch):
    turns = [{"question": "Earlier?", "answer": {"text": "Yes [1]"}}]

    def broken(*args, **kwargs):
        raise RuntimeError("model crashed")
        yield

    monkeypatch.setattr(api, "stream_answer", broken)
    messages, after = list(service.chat("Why?", [], turns))[-1]
    assert "model crashed" in last((messages, after)) and after == turns


def test_the_conversation_state_is_bounded(service, scripted_llm):
    from ui.service import MAX_TURNS

    turns = [{"question": f"q{i}", "answer": {"text": f"a{i}"}} for i in range(MAX_TURNS)]
    scripted_llm.reply = "$3 billion (£2.4bn) a year"
    _, after = list(service.chat(QUESTION, [], turns))[-1]
    assert len(after) == MAX_TURNS and after[-1]["question"] == QUESTION
    assert after[0]["question"] == "q1"


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
    assert "Internal error (KeyError: &#x27;boom&#x27;), a bug in rag, not your input" in final
    assert "Traceback" not in final and "File " not in final


def test_bad_questions_log_one_line_unexpected_errors_a_traceback(service, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="ui")
    list(service.chat("x" * 5000, []))
    [record] = caplog.records
    assert record.levelname == "WARNING" and record.exc_info is None
    assert record.getMessage().endswith("refused: question: 5000 characters, the limit is 2000")
    assert "\n" not in caplog.text.strip()

    caplog.clear()
    with pytest.raises(ValueError, match="empty"):
        service.ask("   ")
    assert caplog.records == []  # the API endpoint logs it (see test_app)

    def broken(*args, **kwargs):
        raise KeyError("boom")
        yield

    caplog.clear()
    monkeypatch.setattr(api, "stream_answer", broken)
    list(service.chat(QUESTION, []))
    [record] = caplog.records
    assert record.levelname == "ERROR" and record.exc_info is not None
    assert "Traceback" in caplog.text and "KeyError: 'boom'" in caplog.text


def test_ask_returns_json_ready_data(service, scripted_llm):
    scripted_llm.reply = "$3 billion (£2.4bn) a year"
    result = service.ask(QUESTION, top_k=3)
    json.dumps(result)
    assert result["text"].startswith("$3 billion") and not result["abstained"]
    assert result["shape"] == "factoid" and result["short_answer"].startswith("$3 billion")
    [claim] = result["claims"]
    assert list(claim["citations"]) == [1] and claim["check"]["passed"]
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
    job = service.start_upload([article, bad])
    assert job.wait(60) and job.state == "done"
    html = job.html
    assert "rag-added" in html and "Northbay Harbour.txt" in html
    assert "unsupported type .exe" in html
    assert job.chunks_embedded == 1 and job.file_index == job.n_files == 1
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


def test_a_large_index_lists_a_bounded_number_of_articles_and_removes_typed_ones(
    service, monkeypatch
):
    from rag.records import Article

    articles = [
        Article(source=f"https://wire.example/{i}", title=f"Story {i}", text=f"Story {i} text.")
        for i in range(7)
    ]
    from ingest import ingest_articles

    assert ingest_articles(articles, settings=service.settings).ok
    monkeypatch.setattr(ui.service, "MAX_LISTED", 3)
    stats, choices = service.overview()
    assert len(choices) == 3
    assert "<b>8</b> articles" in stats and "shows 3 of 8 articles" in stats
    unlisted = next(a for a in articles if a.id not in {i for _, i in choices})
    assert f"Removed: {unlisted.title}" in service.remove(unlisted.title)  # typed, not listed
    assert "<b>7</b> articles" in service.overview()[0]


# ----- uploads in the background ----------------------------------------------------------
@pytest.fixture
def held_upload(monkeypatch):
    """Embedding in the upload worker waits until ``release`` is set; ``entered`` is set once
    the worker is inside it, ``seen`` records the worker thread's nice value."""
    from ui.background import ThrottledEmbedder

    state = {"entered": threading.Event(), "release": threading.Event(), "nice": []}
    real = ThrottledEmbedder.embed_documents

    def held(self, texts):
        state["nice"].append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        state["entered"].set()
        assert state["release"].wait(30)
        return real(self, texts)

    monkeypatch.setattr(ThrottledEmbedder, "embed_documents", held)
    yield state
    state["release"].set()


def test_a_question_is_answered_while_an_upload_is_indexing(
    service, scripted_llm, tmp_path, held_upload
):
    article = tmp_path / "harbour.txt"
    article.write_text("Harbour park opens\n\nThe Northbay harbour park has 3,200 new trees.\n")
    job = service.start_upload([article])
    assert held_upload["entered"].wait(30)  # the upload is in the middle of embedding
    assert job.state == "running" and not job.done
    assert "Indexing harbour.txt (1 of 1)" in render.upload_progress_html(job)

    scripted_llm.reply = "$3 billion (£2.4bn) a year"
    steps = list(service.chat(QUESTION, [], []))  # not held up by the upload
    assert "$3 billion" in last(steps[-1]) and not job.done

    held_upload["release"].set()
    assert job.wait(30) and "rag-added" in job.html
    assert held_upload["nice"][0] > os.getpriority(os.PRIO_PROCESS, 0)  # a lower priority


def test_uploads_wait_their_turn_and_closing_stops_the_running_one(service, tmp_path, held_upload):
    big = tmp_path / "big.txt"  # several embedding batches
    big.write_text("Big report\n\n" + " ".join(f"Sentence {i} is here." for i in range(2000)))
    small = tmp_path / "small.txt"
    small.write_text("Small note\n\nThe small note has one sentence.\n")
    first, second = service.start_upload([big]), service.start_upload([small])
    assert held_upload["entered"].wait(30)
    assert second.state == "queued"
    assert "Waiting for the upload before it" in render.upload_progress_html(second)

    closer = threading.Thread(target=service.close)
    closer.start()
    deadline = time.monotonic() + 30
    while not service.worker.stop.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)
    held_upload["release"].set()  # the held batch sees the stop before embedding
    closer.join(30)
    assert first.done and second.done
    assert "rag-failed" in first.html and "shutting down" in first.html
    assert "upload it again" in second.html
    assert first.chunks_embedded == 0
    assert rag.status(service.settings).n_articles == 1  # the corpus article only
    with pytest.raises(RuntimeError, match="shutting down"):
        service.worker.submit(service.worker.new_job(["x"]))


def test_too_many_waiting_uploads_are_refused_with_a_message(service, tmp_path, held_upload):
    from ui.background import MAX_WAITING

    note = tmp_path / "note.txt"
    note.write_text("A note\n\nIt says little.\n")
    jobs = [service.start_upload([note])]
    assert held_upload["entered"].wait(30)
    jobs += [service.start_upload([note]) for _ in range(MAX_WAITING + 1)]
    assert jobs[-1].done and "uploads are already waiting" in jobs[-1].html
    assert not any(job.done for job in jobs[:-1])
    held_upload["release"].set()
    assert all(job.wait(60) for job in jobs)
