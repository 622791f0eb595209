"""A Chroma server: the checks made before using it, and its failures as one line naming it.

The open-source ``chroma run`` answers ``/api/v2/auth/identity``; one request there tells a
server that is down, a refused token and a wrong URL apart, before chromadb's own messages
(which name none of them) can.
"""

from __future__ import annotations

import functools

from rag.protocols import EmbedderMismatch, ServerUnavailable
from rag.settings import Settings


class ChromaServerError(ServerUnavailable):
    """The Chroma server cannot be used; the message is one line naming its URL."""


def headers(settings: Settings) -> dict[str, str]:
    """The token header the settings ask for (none without a token)."""
    if settings.chroma_token is None:
        return {}
    token = settings.chroma_token.get_secret_value()
    if settings.chroma_token_header == "Authorization":
        return {"Authorization": f"Bearer {token}"}
    return {"X-Chroma-Token": token}


def http_client(settings: Settings, server: str, chroma_settings):
    """A client of the server at ``server``, after checking it answers and lets us in; the
    database is created when the tenant has none of that name."""
    from rag.backends.chroma.quick_import import import_chromadb

    chromadb = import_chromadb()
    from chromadb.errors import NotFoundError

    sent = headers(settings)
    preflight(server, sent)
    options = dict(
        host=server,
        ssl=server.startswith("https://"),
        headers=sent or None,
        settings=chroma_settings,
        tenant=settings.chroma_tenant,
    )
    try:
        return chromadb.HttpClient(**options, database=settings.chroma_database)
    except NotFoundError as exc:
        if "database" not in str(exc).lower():
            raise ChromaServerError(
                f"Chroma server {server}: tenant {settings.chroma_tenant!r} not found "
                "(RAG_CHROMA_TENANT)"
            ) from None
    admin = chromadb.AdminClient(_admin_settings(server, sent, chroma_settings))
    admin.create_database(settings.chroma_database, tenant=settings.chroma_tenant)
    return chromadb.HttpClient(**options, database=settings.chroma_database)


def _admin_settings(server: str, sent: dict, base):
    """chromadb settings of an admin client for ``server`` (as HttpClient sets them)."""
    admin = base.model_copy()
    admin.chroma_api_impl = "chromadb.api.fastapi.FastAPI"
    admin.chroma_server_host = server
    admin.chroma_server_ssl_enabled = server.startswith("https://")
    admin.chroma_server_headers = sent or None
    return admin


def preflight(server: str, sent: dict[str, str], timeout: float = 10.0) -> None:
    """One request that tells the usual failures apart, as one line naming the URL."""
    import httpx

    try:
        response = httpx.get(f"{server}/api/v2/auth/identity", headers=sent, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ChromaServerError(f"Chroma server {server}: {_transport_cause(exc)}") from None
    if response.status_code in (401, 403):
        raise ChromaServerError(
            f"Chroma server {server}: HTTP {response.status_code}, not authorised "
            "(check RAG_CHROMA_TOKEN and RAG_CHROMA_TOKEN_HEADER)"
        )
    if response.status_code == 404:
        raise ChromaServerError(
            f"Chroma server {server}: HTTP 404, no Chroma 1.x API there (check RAG_CHROMA_URL)"
        )
    if response.status_code >= 400:
        raise ChromaServerError(
            f"Chroma server {server}: HTTP {response.status_code} "
            f"({' '.join(response.text.split())[:200]})"
        )


def _transport_cause(exc: BaseException) -> str:
    import httpx

    detail = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return f"cannot connect ({detail}); is the server running?"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer in time ({detail})"
    return f"{type(exc).__name__}: {detail}"


def server_errors(method):
    """On a server, turn a lost connection (or chromadb's wording of it) into one line
    naming the URL. For methods of an object with ``settings``."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        server = self.settings.chroma_server
        if server is None:
            return method(self, *args, **kwargs)
        try:
            return method(self, *args, **kwargs)
        except (ChromaServerError, EmbedderMismatch):
            raise
        except Exception as exc:
            cause = _server_cause(exc)
            if cause is None:
                raise
            raise ChromaServerError(f"Chroma server {server}: {cause}") from exc

    return wrapper


def _server_cause(exc: BaseException) -> str | None:
    import httpx
    from chromadb.errors import ChromaAuthError, ChromaError

    seen = exc
    while seen is not None:
        if isinstance(seen, httpx.HTTPError):
            return _transport_cause(seen)
        if isinstance(seen, ChromaAuthError):
            return "not authorised (check RAG_CHROMA_TOKEN)"
        if isinstance(seen, ChromaError):
            return None  # an answer from the server: not a connection problem
        if "Could not connect to a Chroma server" in str(seen):
            return "cannot connect; is the server running?"
        seen = seen.__cause__ or seen.__context__
    return None
