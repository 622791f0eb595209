"""Saved chats: kept as data per owner, bounded, re-rendered from their records; and the
collection chosen per request, never created by naming it."""

from __future__ import annotations

import doctest
import json

import pytest

import ingest
import ui.app
import ui.chats
from rag import api
from ui import chats
from ui.chats import ChatStore, owner_of
from ui.render import message_text
from ui.service import Service

pytestmark = pytest.mark.unit

QUESTION = "How much does SoftBank pay OpenAI?"
ANN, BOB = owner_of("ann", None), owner_of("bob", None)


def turn(question: str, text: str = "Ann [1]") -> dict:
    return {"question": question, "answer": {"question": question, "text": text}}


def test_docstring_examples():
    assert doctest.testmod(ui.chats).failed == 0
    assert doctest.testmod(ui.app).failed == 0


def test_owners_see_only_their_own_chats_and_ids_cannot_reach_other_files(tmp_path):
    store = ChatStore(tmp_path)
    mine = store.save(ANN, None, "articles", [turn("Who?")])
    assert [c.id for c in store.list(ANN)] == [mine.id]
    assert store.list(BOB) == [] and store.load(BOB, mine.id) is None
    assert not store.delete(BOB, mine.id) and store.load(ANN, mine.id) is not None
    for bad in ("../" + mine.id, mine.id + ".json", "", None, 7):
        assert store.load(ANN, bad) is None
    assert owner_of(None, "../../etc/passwd") is None and store.list(None) == []
    assert store.save(None, None, "articles", [turn("Who?")]) is None  # no owner, nothing kept
    assert "ann" not in " ".join(p.name for p in tmp_path.iterdir())  # names are digests


def test_a_chat_keeps_its_id_title_and_latest_turns(tmp_path, monkeypatch):
    monkeypatch.setattr(chats, "MAX_TURNS", 3)
    store = ChatStore(tmp_path)
    chat = store.save(ANN, None, "articles", [turn("First question?")])
    for n in range(5):
        again = store.save(ANN, chat.id, "articles", [turn("First question?"), turn(f"q{n}")] * 2)
        assert again.id == chat.id
    loaded = store.load(ANN, chat.id)
    assert loaded.title == "First question?" and len(loaded.turns) == 3
    assert len(store.list(ANN)) == 1


def test_chats_and_owners_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(chats, "MAX_CHATS", 3)
    monkeypatch.setattr(chats, "MAX_OWNERS", 2)
    store = ChatStore(tmp_path)
    ids = [store.save(ANN, None, "articles", [turn(f"q{n}?")]).id for n in range(5)]
    assert {c.id for c in store.list(ANN)} <= set(ids) and len(store.list(ANN)) == 3
    monkeypatch.setattr(chats, "MAX_OWNER_BYTES", 1)  # only the newest chat fits
    store.save(ANN, None, "articles", [turn("newest?")])
    assert [c.title for c in store.list(ANN)] == ["newest?"]
    for who in (BOB, owner_of("cy", None)):
        store.save(who, None, "articles", [turn("hello?")])
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 2  # the least recent went


def test_a_damaged_chat_file_is_skipped(tmp_path):
    store = ChatStore(tmp_path)
    good = store.save(ANN, None, "articles", [turn("Who?")])
    folder = next(p for p in tmp_path.iterdir() if p.is_dir())
    (folder / "0123456789abcdef.json").write_text("{not json")
    (folder / "fedcba9876543210.json").write_text(json.dumps({"id": "x"}))
    assert [c.id for c in store.list(ANN)] == [good.id]


@pytest.fixture
def service(settings, fake_embedder, scripted_llm, corpus_copy):
    settings = settings.with_overrides(min_relevance=0.0)  # hash embeddings score low
    assert ingest.ingest(corpus_copy, settings=settings).ok
    service = Service(settings)
    yield service
    service.close()


def test_a_saved_chat_reopens_rendered_from_its_records(service, scripted_llm):
    scripted_llm.reply = "$3 billion (£2.4bn) a year"
    *_, (messages, turns) = service.chat(QUESTION, [], [])
    chat_id = service.save_chat(ANN, None, None, turns)
    assert service.chat_choices(ANN) == [(QUESTION, chat_id)]
    shown, reopened, collection = service.open_chat(ANN, chat_id)
    assert reopened == json.loads(json.dumps(turns)) and collection == "articles"
    assert [m["role"] for m in shown] == ["user", "assistant"]
    final = message_text(shown[-1]["content"])
    assert final == message_text(messages[-1]["content"])  # the same rendering as when asked
    assert "rag-context" in final  # the article's text was read again for the context view
    assert service.open_chat(BOB, chat_id) is None
    assert service.delete_chat(ANN, chat_id) and service.chat_choices(ANN) == []


def test_the_collection_is_one_that_exists(service, settings, corpus_copy):
    other = service.settings.with_overrides(collection="parks")
    ingest.ingest(corpus_copy / "softbank-openai-japan.txt", settings=other)
    assert service.collections() == ["articles", "parks"]
    assert service.collection("parks") == "parks"
    assert service.collection("made_up") == "articles"  # never created by naming it
    assert service.collection("../x") == "articles" and service.collection(None) == "articles"
    list(service.chat(QUESTION, [], [], collection="made_up"))
    assert api.collections(service.settings) == ["articles", "parks"]
    html, _ = service.overview("parks")
    assert "collection parks" in html


def test_example_questions_come_from_the_newest_titles(service):
    assert service.examples() == [
        "Summarise “SoftBank, OpenAI Create Joint Venture To Market AI In Japan”."
    ]
    assert service.examples("made_up") == service.examples()


def test_the_browser_secret_outlives_a_restart(tmp_path):
    first = ui.app.browser_secret(tmp_path)
    assert ui.app.browser_secret(tmp_path) == first and len(first) >= 32
    assert (tmp_path / "ui" / "browser-secret").stat().st_mode & 0o077 == 0
