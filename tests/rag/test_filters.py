"""Filters (source/site, date range, author) from the API, the CLI, eval and the UI, with the
hash embedder and a scripted model over a real Chroma index and lexical index."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import rag
from ingest import ingest_articles
from ingest.evaluation import evaluate
from rag import api, cli
from rag.records import Article
from ui.service import Service, clean_filters

pytestmark = pytest.mark.unit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUESTION = "Who opened the new ferry terminal?"
ARTICLES = [
    Article(
        source="mem://harbour",
        title="Harbour news",
        text="The harbour authority opened the new ferry terminal on Monday.",
        url="https://www.harbour-news.com/ferry",
        date="2024-03-02",
        author="Ana Ruiz",
    ),
    Article(
        source="mem://city",
        title="City daily",
        text="The mayor opened the new ferry terminal after years of debate.",
        url="https://citydaily.org/ferry",
        date="2023-11-20",
        author="Ben Ola",
    ),
]


@pytest.fixture
def news(settings, fake_embedder, scripted_llm):
    settings = settings.with_overrides(min_relevance=0.0)  # hash embeddings score low
    assert ingest_articles(ARTICLES, settings=settings, embedder=fake_embedder).ok
    scripted_llm.reply = "opened the new ferry terminal"
    return settings


def sources(answer) -> set[str]:
    return {p.source for p in answer.passages}


def test_answer_and_stream_answer_take_filters(news):
    assert sources(rag.answer(QUESTION, settings=news)) == {"mem://harbour", "mem://city"}
    assert sources(rag.answer(QUESTION, settings=news, source="harbour-news.com")) == {
        "mem://harbour"
    }
    assert sources(rag.answer(QUESTION, settings=news, until="2023-12-31")) == {"mem://city"}
    final = list(rag.stream_answer(QUESTION, settings=news, author="Ana Ruiz"))[-1]
    assert final.citations[0].source == "mem://harbour"
    none = rag.answer(QUESTION, settings=news, source="citydaily.org", since="2024-01-01")
    assert none.abstained
    assert none.text == "No article matches source=citydaily.org since=2024-01-01."
    with pytest.raises(ValueError, match="until=2024/01/01: until must be a date, YYYY-MM-DD"):
        rag.answer(QUESTION, settings=news, until="2024/01/01")


def test_evaluate_takes_filters(news):
    questions = [{"id": "q", "question": QUESTION, "answers": ["opened"]}]
    result = evaluate(questions, settings=news, author="Ben Ola", collection=news.collection)
    assert result.summary["filters"] == "author=Ben Ola"
    [row] = result.rows
    assert [c["source"] for c in row["citations"]] == ["mem://city"]


def test_rag_ask_filters(news, capsys):
    home = ["--home", str(news.home)]
    code = cli.main(["ask", QUESTION, "--source", "citydaily.org", "--json", *home])
    assert code == 0
    assert '"source": "mem://city"' in capsys.readouterr().out


def _rag(args, home):
    env = {**os.environ, "RAG_HOME": str(home)}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_rag_ask_says_when_nothing_matches_and_refuses_bad_dates(news):
    """A real subprocess: an empty slice is reported before any model loads."""
    done = _rag(["ask", QUESTION, "--author", "Nobody", "--since", "2020-01-01"], news.home)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "No article matches since=2020-01-01 author=Nobody."
    done = _rag(["ask", QUESTION, "--since", "2024-02-30"], news.home)
    assert done.returncode == 2
    assert done.stderr.strip() == "rag: error: --since 2024-02-30: since must be a date, YYYY-MM-DD"


def test_ui_service_chat_and_ask_take_filters(news):
    service = Service(news)
    shown = list(service.chat(QUESTION, [], [], None, {"source": "harbour-news.com", "since": ""}))
    assert "mem://harbour" in str(shown[-1]) and "mem://city" not in str(shown[-1])
    shown = list(service.chat(QUESTION, [], [], None, {"author": "Nobody"}))
    assert "No article matches author=Nobody." in str(shown[-1])
    shown = list(service.chat(QUESTION, [], [], None, {"since": "yesterday"}))
    assert "since=yesterday: since must be a date, YYYY-MM-DD" in str(shown[-1])
    data = service.ask(QUESTION, filters={"until": "2023-12-31"})
    assert [c["source"] for c in data["citations"]] == ["mem://city"]
    with pytest.raises(ValueError, match="filter 'site': unknown"):
        clean_filters({"site": "x"})


def test_ui_app_has_the_filter_panel_and_api_arguments(news):
    from ui import create_app

    app = create_app(news)
    labels = {getattr(block, "label", None) for block in app.blocks.values()}
    assert {"Source or site", "Since", "Until", "Author"} <= labels
    [ask] = [fn.fn for fn in app.fns.values() if fn.api_name == "ask"]
    data = ask(QUESTION, 0, "", "", "", "Ana Ruiz")
    assert [c["source"] for c in data["citations"]] == ["mem://harbour"]
    assert api.make_filters() is None
