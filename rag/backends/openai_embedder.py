"""Embeddings from an OpenAI-compatible server (``POST {base_url}/embeddings``): vLLM,
Ollama, llama.cpp's server, TEI, Infinity, or a hosted API.

Vectors are L2-normalised here, whatever the server does; the dimension is learned from the
first answer. Every failure is one line naming the URL and the cause
(``EmbeddingServerError``); transient ones (no connection, HTTP 408/429/5xx) are retried a
bounded number of times first.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence

from rag.errors import ConfigError, InputError
from rag.protocols import ServerUnavailable
from rag.settings import Settings

_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_MAX_BACKOFF_S = 8.0


class EmbeddingServerError(ServerUnavailable):
    """The embedding server cannot give embeddings; one line naming its URL and the cause."""


class EmbeddingRequestError(InputError):
    """The server refused these texts (HTTP 400, 413, 422...), not every request."""


class OpenAIEmbedder:
    """An ``Embedder`` backed by an OpenAI-compatible ``/embeddings`` endpoint.

    ``transport`` (an ``httpx`` transport) is for tests.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        batch_size: int = 64,
        transport=None,
    ):
        import httpx

        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/embeddings"
        self.model = model
        self.name = f"openai:{model}"
        self.timeout = timeout
        self.max_retries = max_retries
        self.batch_size = max(1, batch_size)
        self._dimension: int | None = None
        self._lock = threading.Lock()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers=headers,
            transport=transport,
        )

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self.warm_up()
        return self._dimension  # type: ignore[return-value]

    def warm_up(self) -> None:
        """Reach the server now (one short request), which also learns the dimension."""
        if self._dimension is None:
            self._embed(["dimension probe"])

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            vectors.extend(self._embed(list(texts[i : i + self.batch_size])))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text])[0]

    # ----- one request --------------------------------------------------------------------
    def fail(self, cause: str) -> EmbeddingServerError:
        return EmbeddingServerError(f"embedding server {self.url}: {cause}")

    def _embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        body = self._post({"model": self.model, "input": texts, "encoding_format": "float"})
        vectors = self._parse(body, len(texts))
        with self._lock:
            if self._dimension is None:
                self._dimension = len(vectors[0])
        if any(len(v) != self._dimension for v in vectors):
            sizes = sorted({len(v) for v in vectors})
            raise self.fail(f"vectors of {sizes} dimensions, expected {self._dimension}")
        return [_normalised(v) for v in vectors]

    def _post(self, payload: dict) -> dict:
        import httpx

        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            wait = min(_MAX_BACKOFF_S, 0.5 * 2 ** (attempt - 1))
            try:
                response = self._http.post(self.url, json=payload)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                if attempt < attempts:
                    time.sleep(wait)
                    continue
                raise self.fail(
                    f"cannot connect ({_one_line(exc)}) after {attempts} tries; "
                    "is the server running? (RAG_EMBEDDING_BASE_URL)"
                ) from None
            except httpx.TimeoutException:
                # not retried: a server too slow once is too slow again
                raise self.fail(
                    f"no answer within {self.timeout:g} s (RAG_EMBEDDING_TIMEOUT)"
                ) from None
            except httpx.HTTPError as exc:
                raise self.fail(f"{type(exc).__name__}: {_one_line(exc)}") from None
            status = response.status_code
            if status in _RETRY_STATUS and attempt < attempts:
                time.sleep(_retry_after(response, wait))
                continue
            if status >= 400:
                cause = self._http_cause(response, attempt)
                if status in (400, 413, 422):
                    raise EmbeddingRequestError(f"embedding server {self.url}: {cause}")
                raise self.fail(cause)
            try:
                body = response.json()
            except ValueError:
                raise self.fail(
                    f"answer is not JSON ({_one_line(response.text)[:120]!r}); "
                    "is this an OpenAI-compatible /v1 URL?"
                ) from None
            if not isinstance(body, dict):
                raise self.fail("answer is not a JSON object")
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    def _http_cause(self, response, attempt: int) -> str:
        status = response.status_code
        message = _server_message(response)
        tries = f" after {attempt} tries" if attempt > 1 else ""
        if status in (401, 403):
            return f"HTTP {status}, not authorised ({message}); check RAG_EMBEDDING_API_KEY"
        if status == 404:
            return (
                f"HTTP 404 ({message}); is model {self.model!r} served there "
                "(RAG_EMBEDDING_MODEL), and does the URL end in /v1?"
            )
        return f"HTTP {status}{tries} ({message})"

    def _parse(self, body: dict, n: int) -> list[list[float]]:
        data = body.get("data")
        if not isinstance(data, list) or len(data) != n:
            got = len(data) if isinstance(data, list) else "no"
            raise self.fail(f"asked for {n} embeddings, got {got} ('data' in the answer)")
        items = sorted(data, key=lambda item: item.get("index", 0)) if n > 1 else data
        vectors = []
        for item in items:
            vector = item.get("embedding") if isinstance(item, dict) else None
            if isinstance(vector, list) and vector and isinstance(vector[0], list):
                raise self.fail(
                    "one vector per token, not one per text: turn pooling on "
                    "(llama.cpp: --pooling mean)"
                )
            if not isinstance(vector, list) or not vector:
                raise self.fail("an embedding is missing or not a list of numbers")
            try:
                floats = [float(x) for x in vector]
            except (TypeError, ValueError):
                raise self.fail("an embedding is not a list of numbers") from None
            if not all(math.isfinite(x) for x in floats):
                raise self.fail("an embedding holds NaN or infinity")
            vectors.append(floats)
        return vectors


def _normalised(vector: Sequence[float]) -> list[float]:
    """Unit length (cosine similarity = dot product); a zero vector stays zero.

    >>> _normalised([3.0, 4.0])
    [0.6, 0.8]
    """
    norm = math.sqrt(math.fsum(x * x for x in vector))
    return [x / norm for x in vector] if norm > 0 else list(vector)


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def _server_message(response) -> str:
    """What the server said, in one short line (OpenAI, vLLM, Ollama, TEI shapes)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
        elif isinstance(error, str):
            message = error
        message = message or body.get("message") or body.get("detail")
    text = _one_line(message if message is not None else response.text)
    return (text[:200] + "…" if len(text) > 200 else text) or response.reason_phrase


def _retry_after(response, default: float) -> float:
    try:
        return min(_MAX_BACKOFF_S, max(0.0, float(response.headers.get("retry-after", ""))))
    except ValueError:
        return default


def create(settings: Settings) -> OpenAIEmbedder:
    if not settings.embedding_base_url:
        raise ConfigError(
            "embedder", "openai", "needs RAG_EMBEDDING_BASE_URL too, e.g. http://127.0.0.1:11434/v1"
        )
    if not settings.embedding_model:
        raise ConfigError(
            "embedder", "openai", "needs RAG_EMBEDDING_MODEL too: the model the server serves"
        )
    key = settings.embedding_api_key
    return OpenAIEmbedder(
        settings.embedding_base_url,
        settings.embedding_model,
        api_key=key.get_secret_value() if key else None,
        timeout=settings.embedding_timeout,
        max_retries=settings.embedding_max_retries,
        batch_size=settings.embed_batch_size,
    )


def describe(settings: Settings) -> str:
    """No request is made: ``rag status`` works with the server down."""
    model = settings.embedding_model or "(RAG_EMBEDDING_MODEL not set)"
    return f"{model} at {settings.embedding_base_url or '(RAG_EMBEDDING_BASE_URL not set)'}"
