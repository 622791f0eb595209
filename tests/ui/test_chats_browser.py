"""Chats that last, in a real headless Chromium against the real app (embedder, Chroma,
llama.cpp): a chat survives a reload and a server restart, can be reopened and deleted, is
the browser's own (or, with --auth, the user's own), and the collection is chosen in the page.
Screenshots go to test-artifacts/ui/."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ingest
import rag
from tests.conftest import CORPUS, ROOT
from tests.ui.test_browser import CHROMIUM_ARGS, free_port, shot

pytest.importorskip("playwright")
if not Path("/usr/bin/chromium").exists():
    pytest.skip("browser tests need /usr/bin/chromium", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SOFTBANK = "How much does SoftBank pay OpenAI?"
PARK = (
    "Harbour park opens in Northbay\n\nThe Northbay harbour park, built on the old cargo docks, "
    "opened to the public on Saturday.\n\nThe park cost 48 million euros and has 3,200 new "
    "trees, the city's parks office said.\n"
)
TREES = "How many new trees does the Northbay harbour park have?"
USERS = [("ann", "ann-pw-1"), ("bob", "bob-pw-2")]


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A data directory with two collections: the demo corpus and one park article."""
    root = tmp_path_factory.mktemp("chats")
    settings = rag.Settings(home=root / "rag-home")
    assert ingest.ingest(CORPUS, settings=settings).ok
    park = root / "park.txt"
    park.write_text(PARK)
    assert ingest.ingest(park, settings=settings.with_overrides(collection="parks")).ok
    return settings.home


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Server:
    """``rag ui`` in this process on a fixed loopback port, which a test may restart."""

    def __init__(self, home: Path, auth=None):
        self.home, self.auth, self.port = home, auth, free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.app = None

    def start(self) -> Server:
        from ui.app import launch

        settings = rag.Settings(home=self.home)
        self.app = launch(
            settings, "127.0.0.1", self.port, self.auth, block=False, warm_up=True, quiet=True
        )
        return self

    def stop(self) -> None:
        if self.app is not None:
            self.app.close()
            self.app = None


@pytest.fixture(scope="module")
def server(home):
    running = Server(home).start()
    yield running
    running.stop()


def open_page(context, url: str):
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(url)
    page.wait_for_selector("#stats .rag-stats")
    return page


def ask(page, question: str):
    """Ask and wait until the answer is final and the chat is saved (listed)."""
    finals = page.locator("#chat .rag-final").count()
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(f"() => document.querySelectorAll('#chat .rag-final').length > {finals}")
    page.wait_for_function(  # saved: the chat is listed and selected
        "() => document.querySelector('#chats input:checked') !== null"
        " || document.querySelector('#chat .rag-error') !== null"
    )
    return page.locator("#chat [data-testid='bot']").last


def chat_titles(page) -> list[str]:
    return [t.strip() for t in page.locator("#chats label").all_inner_texts()]


def answers(page) -> list[str]:
    return page.locator("#chat .rag-final").all_inner_texts()


def test_a_chat_survives_a_reload(server, browser):
    context = browser.new_context(viewport={"width": 1360, "height": 960})
    page = open_page(context, server.url)
    assert chat_titles(page) == []
    answer = ask(page, SOFTBANK)
    assert "$3 billion" in answer.inner_text()
    assert chat_titles(page) == [SOFTBANK]
    page.reload()
    page.wait_for_selector("#chat .rag-final")
    assert chat_titles(page) == [SOFTBANK]
    [shown] = answers(page)
    assert "$3 billion" in shown
    # rendered afresh from the record: the source and its context view are there
    source = page.locator("#chat .rag-source").first
    assert "softbank-openai-japan.txt" in source.inner_text()
    source.locator("summary").click()
    assert "$3 billion" in source.locator(".rag-context-text mark").inner_text()
    assert page.locator("#chats input:checked").count() == 1
    shot(page, "chat-after-reload")
    context.close()


def test_new_chat_reopen_and_delete(server, browser):
    context = browser.new_context(viewport={"width": 1360, "height": 960})
    page = open_page(context, server.url)
    ask(page, SOFTBANK)
    new_chat = page.get_by_role("button", name="+ New chat")
    assert new_chat.is_visible() and "rag-example" not in (new_chat.get_attribute("class") or "")
    new_chat.click()
    page.wait_for_function("() => document.querySelectorAll('#chat .rag-final').length === 0")
    ask(page, "Who won the 2018 FIFA World Cup?")
    assert chat_titles(page) == ["Who won the 2018 FIFA World Cup?", SOFTBANK]
    page.locator("#chats label", has_text=SOFTBANK).click()
    page.wait_for_function("() => document.querySelector('#chat').innerText.includes('$3 billion')")
    assert len(answers(page)) == 1
    page.get_by_role("button", name="Delete this chat").click()
    page.wait_for_function("() => document.querySelectorAll('#chats label').length === 1")
    assert chat_titles(page) == ["Who won the 2018 FIFA World Cup?"]
    assert answers(page) == []
    page.reload()
    page.wait_for_selector("#stats .rag-stats")
    page.wait_for_timeout(500)
    assert chat_titles(page) == ["Who won the 2018 FIFA World Cup?"]
    shot(page, "chat-deleted")
    context.close()


def test_another_browser_has_its_own_chats(server, browser):
    first = browser.new_context()
    ask(open_page(first, server.url), SOFTBANK)
    second = browser.new_context()
    page = open_page(second, server.url)
    page.wait_for_timeout(500)
    assert chat_titles(page) == []
    first.close()
    second.close()


def test_the_collection_is_chosen_in_the_page(server, browser):
    context = browser.new_context(viewport={"width": 1360, "height": 960})
    page = open_page(context, server.url)
    assert page.locator("#collection input").input_value() == "articles"
    assert "SoftBank" in " ".join(page.locator(".rag-example").all_inner_texts())
    page.locator("#collection input").click()
    page.get_by_role("option", name="parks").click()
    page.wait_for_function("() => document.querySelector('#stats').innerText.includes('parks')")
    page.wait_for_function("() => document.querySelector('.rag-example').innerText.includes('ark')")
    examples = " ".join(page.locator(".rag-example").all_inner_texts())
    assert "Harbour park opens in Northbay" in examples and "SoftBank" not in examples
    answer = ask(page, TREES)
    assert "3,200" in answer.inner_text()
    assert "park.txt" in answer.locator(".rag-source-path").first.inner_text()
    # the softbank article is not in this collection
    other = ask(page, SOFTBANK)
    assert "$3 billion" not in other.inner_text()
    page.reload()
    page.wait_for_selector("#chat .rag-final")
    assert page.locator("#collection input").input_value() == "parks"
    shot(page, "collection-parks")
    # back to the demo collection: a new chat over it
    page.locator("#collection input").click()
    page.get_by_role("option", name="articles").click()
    page.wait_for_function("() => document.querySelectorAll('#chat .rag-final').length === 0")
    assert "$3 billion" in ask(page, SOFTBANK).inner_text()
    # reopening the park chat switches the collection back
    page.locator("#chats label", has_text=TREES).click()
    page.wait_for_function("() => document.querySelector('#chat').innerText.includes('3,200')")
    assert page.locator("#collection input").input_value() == "parks"
    context.close()


def rag_ui(home: Path, port: int) -> subprocess.Popen:
    """``rag ui`` as its own process, once it says it serves."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_HOME=str(home), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "ui", "--port", str(port), "--no-warm-up"],
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if line.startswith("serving on") or proc.poll() is not None:
            break
    assert proc.poll() is None, proc.stderr.read()
    return proc


def stop_ui(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


def test_a_chat_survives_a_server_restart(home, browser):
    """Two ``rag ui`` processes one after the other on the same port and data directory:
    nothing of the chat is kept in the first process's memory."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    first = rag_ui(home, port)
    context = browser.new_context(viewport={"width": 1360, "height": 960})
    second = None
    try:
        page = open_page(context, url)
        ask(page, SOFTBANK)
        stop_ui(first)
        assert first.returncode == 130
        second = rag_ui(home, port)
        page.reload()
        page.wait_for_selector("#chat .rag-final")
        assert SOFTBANK in chat_titles(page)
        assert "$3 billion" in answers(page)[0]
        shot(page, "chat-after-restart")
    finally:
        context.close()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                stop_ui(proc)


def test_with_logins_chats_follow_the_user_not_the_browser(home, browser):
    server = Server(home, auth=USERS).start()

    def logged_in(user: tuple[str, str]):
        context = browser.new_context()
        response = context.request.post(
            f"{server.url}login", form={"username": user[0], "password": user[1]}
        )
        assert response.status == 200
        return context, open_page(context, server.url)

    try:
        ann_here, page = logged_in(USERS[0])
        ask(page, SOFTBANK)
        ann_there, elsewhere = logged_in(USERS[0])  # another browser, same user
        elsewhere.wait_for_function("() => document.querySelectorAll('#chats label').length")
        assert chat_titles(elsewhere) == [SOFTBANK]
        bob, his = logged_in(USERS[1])
        his.wait_for_timeout(500)
        assert chat_titles(his) == []
        for context in (ann_here, ann_there, bob):
            context.close()
    finally:
        server.stop()
