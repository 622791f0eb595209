"""A server stopped (SIGTERM, or app.close()) while an API client waits on an upload tells the
client the server stopped and to send the file again, not a bare CancelledError."""

from __future__ import annotations

import signal
import socket
import threading
import time

import httpx
import pytest

from tests.reliability.helpers import spawn, stop

pytest.importorskip("gradio")
STOPPED = "The server stopped before this upload was indexed; send the file(s) again"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


def upload_in_background(url: str, path) -> dict:
    from gradio_client import Client, handle_file

    result: dict = {}

    def run():
        try:
            client = Client(url, verbose=False)
            result["ok"] = client.predict([handle_file(str(path))], api_name="/upload")
        except Exception as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    result["thread"] = thread
    return result


def test_sigterm_during_an_upload_tells_the_api_client_to_send_it_again(tmp_path):
    big = tmp_path / "big.txt"  # many embedding batches, each made slow
    big.write_text("Big report\n\n" + " ".join(f"Sentence {i} is here." for i in range(3000)))
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = spawn(
        "ui",
        "--port",
        str(port),
        "--no-warm-up",
        home=tmp_path / "home",
        HASH_EMBED_DELAY=0.3,
        RAG_EMBED_BATCH_SIZE=4,
    )
    try:
        wait_until_up(url, server)
        result = upload_in_background(url, big)
        deadline = time.monotonic() + 120
        stored = tmp_path / "home" / "uploads" / "big.txt"  # stored by the call, then queued
        while time.monotonic() < deadline and not stored.exists():
            time.sleep(0.1)
        time.sleep(1.0)  # the upload is being indexed, a few batches in
        server.send_signal(signal.SIGTERM)
        result["thread"].join(120)
        assert server.wait(timeout=120) == 0, server.stderr.read()
    finally:
        stop(server)
    assert "ok" not in result, result
    assert STOPPED in result["error"], result["error"]
    assert "CancelledError" not in result["error"]
