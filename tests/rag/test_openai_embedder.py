"""The OpenAI-compatible embedder against scripted HTTP answers (httpx.MockTransport) and a
closed port. The real server is in tests/rag/test_servers.py."""

from __future__ import annotations

import json
import math
import socket

import httpx
import pytest

from rag import registry
from rag.backends.openai_embedder import (
    EmbeddingRequestError,
    EmbeddingServerError,
    OpenAIEmbedder,
)
from rag.protocols import Embedder

pytestmark = pytest.mark.unit

URL = "http://embed.test:9/v1"


def vector_for(text: str) -> list[float]:
    return [float(len(text)), 2.0, 0.0]


def scripted(handler, **options) -> OpenAIEmbedder:
    options.setdefault("max_retries", 2)
    return OpenAIEmbedder(URL, "mini", transport=httpx.MockTransport(handler), **options)


class Server:
    """Answers like an OpenAI-compatible server; records the requests it got."""

    def __init__(self, shuffle: bool = False):
        self.requests: list[httpx.Request] = []
        self.shuffle = shuffle

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        texts = json.loads(request.content)["input"]
        data = [{"index": i, "embedding": vector_for(t)} for i, t in enumerate(texts)]
        if self.shuffle:
            data.reverse()
        return httpx.Response(200, json={"object": "list", "data": data, "model": "mini"})


def test_vectors_are_normalised_in_order_and_batched():
    server = Server(shuffle=True)
    embedder = scripted(server, batch_size=2, api_key="sk-test")
    vectors = embedder.embed_documents(["a", "bbb", "cc", "dddd", "e"])
    assert len(server.requests) == 3  # 2 + 2 + 1
    for text, vector in zip(["a", "bbb", "cc", "dddd", "e"], vectors, strict=True):
        raw = vector_for(text)
        norm = math.sqrt(sum(x * x for x in raw))
        assert vector == pytest.approx([x / norm for x in raw])
    body = json.loads(server.requests[0].content)
    assert body == {"model": "mini", "input": ["a", "bbb"], "encoding_format": "float"}
    assert server.requests[0].url == "http://embed.test:9/v1/embeddings"
    assert server.requests[0].headers["authorization"] == "Bearer sk-test"
    assert embedder.name == "openai:mini" and embedder.dimension == 3
    assert isinstance(embedder, Embedder)


def test_dimension_is_learned_by_one_probe():
    server = Server()
    embedder = scripted(server)
    assert embedder.dimension == 3 and embedder.dimension == 3
    assert len(server.requests) == 1
    embedder.embed_query("question")
    assert len(server.requests) == 2


def test_transient_errors_are_retried_a_bounded_number_of_times(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    calls = []

    def busy(request):
        calls.append(request)
        return httpx.Response(503, json={"error": {"message": "model is loading"}})

    embedder = scripted(busy, max_retries=2)
    with pytest.raises(EmbeddingServerError) as err:
        embedder.embed_query("q")
    assert len(calls) == 3
    assert str(err.value) == (
        f"embedding server {URL}/embeddings: HTTP 503 after 3 tries (model is loading)"
    )

    answers = iter([httpx.Response(429), httpx.Response(502)])

    def flaky(request):
        return next(answers, None) or Server()(request)

    assert len(scripted(flaky).embed_query("q")) == 3


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"error": {"message": "Invalid API key"}}, "HTTP 401, not authorised"),
        (404, {"error": 'model "mini" not found, try pulling it first'}, "model 'mini' served"),
        (400, {"detail": "input too long"}, "HTTP 400 (input too long)"),
    ],
)
def test_client_errors_are_one_line_naming_the_url(status, body, expected):
    calls = []

    def refuse(request):
        calls.append(request)
        return httpx.Response(status, json=body)

    with pytest.raises((EmbeddingServerError, EmbeddingRequestError)) as err:
        scripted(refuse).embed_documents(["text"])
    # the server refusing these texts is not the server being unusable
    assert isinstance(err.value, EmbeddingServerError) == (status != 400)
    message = str(err.value)
    assert message.startswith(f"embedding server {URL}/embeddings: ")
    assert expected in message and "\n" not in message
    assert len(calls) == 1  # not retried


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"data": [{"index": 0, "embedding": [[0.1, 0.2], [0.3, 0.4]]}]}, "one vector per token"),
        ({"data": []}, "asked for 1 embeddings, got 0"),
        ({"data": [{"index": 0, "embedding": ["x"]}]}, "not a list of numbers"),
        ({"data": [{"index": 0, "embedding": [float("nan")]}]}, "NaN"),
        ({"detail": "ok"}, r"got no \('data'"),
    ],
)
def test_malformed_answers_are_refused(answer, expected):
    def reply(request):
        return httpx.Response(200, content=json.dumps(answer).encode())

    with pytest.raises(EmbeddingServerError, match=expected):
        scripted(reply).embed_query("q")


def test_a_server_that_changes_dimension_is_refused():
    sizes = iter([3, 4])

    def reply(request):
        return httpx.Response(200, json={"data": [{"index": 0, "embedding": [1.0] * next(sizes)}]})

    embedder = scripted(reply)
    embedder.embed_query("a")
    with pytest.raises(EmbeddingServerError, match=r"vectors of \[4\] dimensions, expected 3"):
        embedder.embed_query("b")


def test_a_closed_port_is_one_line_after_bounded_retries(monkeypatch):
    sleeps = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the with ends: nothing listens there
    embedder = OpenAIEmbedder(f"http://127.0.0.1:{port}/v1", "mini", max_retries=2, timeout=5)
    with pytest.raises(EmbeddingServerError) as err:
        embedder.warm_up()
    message = str(err.value)
    assert message.startswith(f"embedding server http://127.0.0.1:{port}/v1/embeddings: ")
    assert "cannot connect" in message and "after 3 tries" in message
    assert sleeps == [0.5, 1.0]


def test_settings_choose_it_and_missing_fields_are_named(settings):
    chosen = settings.with_overrides(
        embedder="openai", embedding_base_url="http://127.0.0.1:1/v1/", embedding_model="m"
    )
    embedder = registry.load_embedder(chosen)
    assert embedder.url == "http://127.0.0.1:1/v1/embeddings" and embedder.name == "openai:m"
    assert registry.describe("embedder", chosen) == "openai: m at http://127.0.0.1:1/v1"
    with pytest.raises(ValueError, match="RAG_EMBEDDING_BASE_URL"):
        registry.load_embedder(settings.with_overrides(embedder="openai", embedding_model="m"))
    with pytest.raises(ValueError, match="RAG_EMBEDDING_MODEL"):
        registry.load_embedder(
            settings.with_overrides(embedder="openai", embedding_base_url="http://h:1/v1")
        )


def test_a_different_api_key_builds_a_different_embedder(settings, monkeypatch):
    base = settings.with_overrides(
        embedder="openai", embedding_base_url="http://127.0.0.1:1/v1", embedding_model="m"
    )
    monkeypatch.setenv("RAG_EMBEDDING_API_KEY", "one")
    first = registry.load_embedder(base.model_copy(update={"embedding_api_key": None}))
    a = registry.load_embedder(base.with_overrides(embedding_api_key="key-a"))
    b = registry.load_embedder(base.with_overrides(embedding_api_key="key-b"))
    assert a is not b and a is not first
    assert registry.load_embedder(base.with_overrides(embedding_api_key="key-a")) is a
