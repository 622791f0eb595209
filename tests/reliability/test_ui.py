"""The browser UI under load, with the real stack (MiniLM embedder, Chroma, Gemma 3 270M via
llama.cpp) served on a free loopback port and driven through gradio_client:

- 50 questions from 10 threads while a 20 MB upload is being indexed: every question is
  answered, each with its own answer (no cross-talk), all before the upload finishes;
- the login lockout on the real server: 100 wrong passwords are not all checked, and the
  locked-out user is refused even with the right password, while another user logs in.

About 1-2 minutes on 2 quiet cores (most of it the 50 answers, one at a time)."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

import ingest
import rag
from tests.conftest import CORPUS

pytestmark = [pytest.mark.reliability, pytest.mark.integration, pytest.mark.slow]

ANN, BOB = ("ann", "ann-s3cret"), ("bob", "bob-s3cret")
FACTS = {
    "lighthouse.txt": "Lighthouse repainted\n\nThe Kestrel Point lighthouse was repainted "
    "bright green by the harbour board in March.\n",
    "bakery.txt": "Bakery wins prize\n\nThe Millbrook bakery won the national sourdough prize "
    "with a rye loaf baked by Ada Lund.\n",
    "ferry.txt": "New ferry route\n\nThe new ferry between Osterby and Hallen takes 42 minutes "
    "and sails every hour.\n",
    "museum.txt": "Museum reopens\n\nThe Varden city museum reopened after a renovation that "
    "cost 12 million euros.\n",
}
# question -> (text the answer must contain, title of the article it must cite)
QUESTIONS = {
    "How much does SoftBank pay OpenAI?": ("$3 billion", "SoftBank, OpenAI"),
    "How many people will SB OpenAI Japan hire?": ("1,000", "SoftBank, OpenAI"),
    "What colour was the Kestrel Point lighthouse repainted?": ("green", "Lighthouse"),
    "Who baked the rye loaf that won the sourdough prize?": ("Ada Lund", "Bakery"),
    "How long does the ferry between Osterby and Hallen take?": ("42 minutes", "New ferry"),
    "How much did the renovation of the Varden city museum cost?": ("12 million", "Museum"),
}
WAIT_S = 600  # bound on every wait below (the machine may be shared and slow)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_big_upload(path: Path, size: int = 19_500_000) -> Path:
    """A .jsonl of about ``size`` bytes: many 10 KB articles of distinct sentences."""
    rng = random.Random(0)
    words = "harbour council budget river school market station bridge tower garden".split()
    with path.open("w") as out:
        written, n = 0, 0
        while written < size:
            sentences = " ".join(
                f"Item {n}-{i} says the {rng.choice(words)} {rng.choice(words)} costs "
                f"{rng.randrange(10, 999)} thousand euros."
                for i in range(160)
            )
            line = json.dumps({"title": f"City report {n}", "text": sentences}) + "\n"
            out.write(line)
            written += len(line.encode())
            n += 1
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app (logins: ann, bob) over the demo corpus and four short articles."""
    from ui.app import launch

    root = tmp_path_factory.mktemp("ui-reliability")
    facts = root / "facts"
    facts.mkdir()
    for name, text in FACTS.items():
        (facts / name).write_text(text)
    settings = rag.Settings(home=root / "rag-home", login_max_failures=5, login_lockout_s=600)
    report = ingest.ingest([CORPUS, facts], settings=settings)
    assert report.ok and report.n_articles == 5, report.failed
    port = free_port()
    app = launch(settings, "127.0.0.1", port, [ANN, BOB], block=False, warm_up=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/", app, root
    finally:
        app.close()  # also stops an upload still being indexed


def login(url: str, user: str, password: str, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    data = {"username": user, "password": password}
    return httpx.post(f"{url}login", data=data, headers=headers, timeout=30).status_code


def test_login_is_locked_after_repeated_failures_per_user_and_per_address(server):
    url, app, _ = server
    codes = [login(url, "ann", f"guess-{i}") for i in range(100)]
    assert codes[:5] == [400] * 5  # checked and wrong
    assert set(codes[5:]) == {429}  # refused unchecked: the user is locked out
    assert app.login_guard.refused >= 95
    assert login(url, *ANN) == 429  # even the right password, until the window passes
    assert login(url, *BOB) == 200  # another user from the same address still logs in

    # one address (behind the local reverse proxy) guessing many users is locked out too
    guesser = "203.0.113.9"
    codes = [login(url, f"user{i}", "pw", forwarded_for=guesser) for i in range(25)]
    assert codes[:20] == [400] * 20 and set(codes[20:]) == {429}
    assert login(url, *BOB, forwarded_for=guesser) == 429
    assert login(url, *BOB, forwarded_for="198.51.100.7") == 200


def test_50_questions_from_10_threads_are_answered_during_a_20_mb_upload(server):
    from gradio_client import Client, handle_file

    url, app, root = server
    worker = app.rag_service.worker
    big = write_big_upload(root / "city-reports.jsonl")
    uploader = Client(url, auth=BOB, verbose=False)
    upload = uploader.submit([handle_file(str(big))], api_name="/upload")
    deadline = time.monotonic() + WAIT_S
    while not (worker.current and worker.current.chunks_embedded) and not upload.done():
        assert time.monotonic() < deadline, "the upload never started embedding"
        time.sleep(0.2)
    job = worker.current
    assert job is not None and not job.done  # questions are asked while it is indexed

    asked = [q for _ in range(9) for q in QUESTIONS][:50]
    random.Random(1).shuffle(asked)
    clients = [Client(url, auth=BOB, verbose=False) for _ in range(10)]
    local = threading.local()
    ids = iter(range(10))

    def ask(question: str) -> tuple[str, dict]:
        if not hasattr(local, "client"):
            local.client = clients[next(ids)]
        return question, local.client.predict(question, 0, api_name="/ask")

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(ask, asked, timeout=WAIT_S))

    assert not job.done and not upload.done()  # every question finished first
    assert len(results) == 50
    for question, result in results:
        expected, title = QUESTIONS[question]
        assert result["question"] == question  # its own answer, not another thread's
        assert expected in result["text"] and not result["abstained"], (question, result)
        assert result["citations"][0]["title"].startswith(title)
    assert job.chunks_embedded > 0  # the upload kept going meanwhile
