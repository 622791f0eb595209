"""Chroma server settings, and the one-line errors of a server that refuses us (a tiny real
HTTP server on a free loopback port stands in for a guarded Chroma)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.backends.chroma import ChromaServerError, ChromaStore
from rag.errors import ConfigError
from rag.settings import Settings

pytestmark = pytest.mark.unit


@pytest.fixture
def guard():
    """Answers every request with ``guard.status``; records the request headers."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            seen.append(dict(self.headers))
            body = b'{"error": "Unauthorized", "message": "no"}'
            self.send_response(server.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.status = 401
    server.seen = seen
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_the_token_is_sent_and_a_refusal_is_one_line(settings, guard):
    chosen = settings.with_overrides(chroma_url=guard.url, chroma_token="s3cret")
    with pytest.raises(ChromaServerError) as err:
        ChromaStore(chosen).count_chunks()
    assert str(err.value) == (
        f"Chroma server {guard.url}: HTTP 401, not authorised "
        "(check RAG_CHROMA_TOKEN and RAG_CHROMA_TOKEN_HEADER)"
    )
    assert guard.seen[-1]["Authorization"] == "Bearer s3cret"

    chosen = chosen.with_overrides(chroma_token_header="X-Chroma-Token")
    with pytest.raises(ChromaServerError):
        ChromaStore(chosen).list_articles()
    assert guard.seen[-1]["X-Chroma-Token"] == "s3cret"
    assert "Authorization" not in guard.seen[-1]


def test_a_url_without_chroma_is_named(settings, guard):
    guard.status = 404
    with pytest.raises(ChromaServerError, match="HTTP 404, no Chroma 1.x API there"):
        ChromaStore(settings.with_overrides(chroma_url=guard.url)).count_chunks()


def test_location_and_the_older_host_port_spelling(settings):
    assert ChromaStore(settings).location() == str(settings.chroma_path.resolve())
    by_url = settings.with_overrides(chroma_url="https://db.example.org:8443/")
    assert ChromaStore(by_url).location() == "https://db.example.org:8443"
    by_host = settings.with_overrides(chroma_host="db", chroma_port=8001)
    assert ChromaStore(by_host).location() == "http://db:8001"
    team = by_url.with_overrides(chroma_database="team-a")
    assert ChromaStore(team).location() == (
        "https://db.example.org:8443 (tenant default_tenant, database team-a)"
    )


def test_urls_are_checked_and_secrets_stay_hidden(monkeypatch):
    with pytest.raises(ConfigError, match="chroma_url=db:8000: .* http:// or https:// URL"):
        Settings(chroma_url="db:8000")
    with pytest.raises(ConfigError, match="must be an http:// or https:// URL, e.g. http://x/v1"):
        Settings(embedding_base_url="ftp://x/v1")
    monkeypatch.setenv("RAG_CHROMA_TOKEN", "tok-123")
    monkeypatch.setenv("RAG_EMBEDDING_API_KEY", "sk-456")
    s = Settings()
    assert s.chroma_token.get_secret_value() == "tok-123"
    assert s.embedding_api_key.get_secret_value() == "sk-456"
    assert "tok-123" not in repr(s) and "sk-456" not in repr(s)
