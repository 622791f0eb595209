"""The app on a loopback port with the real stack, driven by Debian's headless Chromium."""

import json
import os
import shutil
import socket
import time
from pathlib import Path

import pytest

import rag
from tests.conftest import CORPUS, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "ui"
BOTS = "\"#chat .message.bot, #chat [data-testid='bot']\""
TIMINGS: dict[str, dict[str, float]] = {}

if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from ui.app import launch

    settings = rag.Settings(home=tmp_path_factory.mktemp("ui-home"))
    assert rag.ingest(CORPUS, settings=settings).ok
    rag.answer("Who owns SB OpenAI Japan?", settings=settings)  # loads both models
    port = free_port()
    app = launch(settings, host="127.0.0.1", port=port, block=False)
    yield f"http://127.0.0.1:{port}/", settings
    app.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "timings.json").write_text(json.dumps(TIMINGS, indent=2))


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server[0])
    page.wait_for_selector("#question textarea", timeout=30_000)
    yield page
    page.close()


def bot_messages(page):
    return page.locator("#chat .message.bot, #chat [data-testid='bot']")


def ask(page, question: str, name: str) -> str:
    """Type a question, press Enter, time the first token and the final answer."""
    before = bot_messages(page).count()
    box = page.locator("#question textarea")
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(
        "n => { const m = document.querySelectorAll(" + BOTS + ");"
        " return m.length > n && m[m.length - 1].innerText.trim().length > 0; }",
        arg=before,
        timeout=120_000,
    )
    first = time.perf_counter() - started
    page.wait_for_function(
        "() => { const m = document.querySelectorAll(" + BOTS + ");"
        " const t = m.length ? m[m.length - 1].innerText : '';"
        " return ['Sources', 'Not in the articles', 'Error.'].some(w => t.includes(w)); }",
        timeout=120_000,
    )
    done = time.perf_counter() - started
    TIMINGS[name] = {"first_token_s": round(first, 3), "complete_s": round(done, 3)}
    return bot_messages(page).last.inner_text()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_example_question_shows_the_answer_and_its_source(page):
    text = ask(page, "How much does SoftBank pay OpenAI?", "example")
    assert "$3 billion" in text and "[1]" in text
    assert "SoftBank, OpenAI Create Joint Venture" in text
    shot(page, "answer")
    summary = page.locator("#chat details.rag-source summary").last
    summary.click()
    context = page.locator("#chat details.rag-source .rag-context").last
    context.wait_for(state="visible")
    assert "$3 billion" in context.locator("mark").inner_text()
    shot(page, "source-opened")


def test_out_of_corpus_question_shows_the_abstention(page):
    text = ask(page, "Who won the 2018 FIFA World Cup?", "abstention")
    assert "Not in the articles" in text and "Sources" not in text
    shot(page, "abstention")


def test_uploaded_article_is_searchable_at_once(page, tmp_path):
    article = tmp_path / "harbour.txt"
    article.write_text(
        "Harbour park opens in Northbay\n\n"
        "The Northbay harbour park, built on the old cargo docks, opened on Saturday. "
        "The park cost 48 million euros and has 3,200 new trees.\n"
    )
    page.locator("#upload input[type=file]").set_input_files(str(article))
    page.wait_for_function(
        "() => document.querySelector('#upload-result').innerText.includes('added')",
        timeout=120_000,
    )
    assert "harbour.txt" in page.locator("#upload-result").inner_text()
    shot(page, "upload")
    text = ask(page, "How many new trees does the Northbay harbour park have?", "uploaded")
    assert "3,200" in text and "Harbour park opens in Northbay" in text
    shot(page, "uploaded-answer")


def test_gradio_client_asks_the_running_app(server):
    from gradio_client import Client

    url, _ = server
    result = Client(url, verbose=False).predict(
        "How much does SoftBank pay OpenAI?", 4, api_name="/ask"
    )
    assert "$3 billion" in result["text"] and not result["abstained"]
    assert "$3 billion" in result["citations"][0]["quote"]
