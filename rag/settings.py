"""One typed settings object, read from ``RAG_*`` environment variables.

>>> Settings(top_k=3).top_k
3
>>> Settings(home="/tmp/x").chroma_path.as_posix()
'/tmp/x/chroma'
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from types import UnionType
from typing import Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.backend_table import BACKENDS
from rag.errors import ConfigError

ENV_PREFIX = "RAG_"


class Settings(BaseSettings):
    """Everything configurable. Environment: ``RAG_<FIELD>`` (e.g. ``RAG_HOME``, ``RAG_TOP_K``)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, allow_inf_nan=False
    )

    # Storage
    home: Path = Field(Path(".rag"), description="Data directory (Chroma index, uploads).")
    collection: str = Field("articles", min_length=3, max_length=60, pattern=r"^[A-Za-z0-9_-]+$")
    chroma_url: str | None = Field(
        None, description="A Chroma server, http(s)://host:port, instead of a local directory."
    )
    chroma_token: SecretStr | None = Field(None, description="Chroma server: auth token.")
    chroma_token_header: Literal["Authorization", "X-Chroma-Token"] = Field(
        "Authorization", description="Chroma server: send the token as a Bearer or x-chroma-token"
    )
    chroma_tenant: str = Field("default_tenant", min_length=3, description="Chroma server tenant.")
    chroma_database: str = Field(
        "default_database", min_length=3, description="Chroma server database."
    )
    chroma_host: str | None = Field(None, description="Older spelling of chroma_url: host only.")
    chroma_port: int = Field(8000, ge=1, le=65535, description="With chroma_host.")

    # Backends, by name (see rag.registry), and their models
    embedder: str = Field(
        "auto",
        description="auto (int8 ONNX on CPUs with VNNI/AMX, else fp32), sentence-transformers, "
        "onnx-int8 or openai",
    )
    generator: str = Field("llama-cpp", description="llama-cpp or openai")
    store: str = Field(
        "chroma",
        description="chroma (a local directory or a server) or memory (this process only)",
    )
    embedding_model: str | None = Field(
        None,
        description="sentence-transformers: a local model directory (default: shipped); "
        "openai: the model name the server serves",
    )
    embedding_base_url: str | None = Field(
        None, description="openai embedder: the server's base URL, e.g. http://127.0.0.1:11434/v1"
    )
    embedding_api_key: SecretStr | None = Field(None, description="openai embedder: API key.")
    embedding_timeout: float = Field(60.0, gt=0, le=3600, description="Seconds per request.")
    embedding_max_retries: int = Field(
        2, ge=0, le=10, description="Retries of a failed embedding request (then an error)."
    )
    llm_model: str | None = Field(
        None,
        description="llama-cpp: a GGUF file (default: shipped); openai: the served model's name",
    )
    n_threads: int = Field(default_factory=lambda: max(1, min(os.cpu_count() or 1, 8)), ge=1)
    n_ctx: int = Field(2048, ge=512, le=32768)
    max_tokens: int = Field(32, ge=1, le=512)

    # generator=openai: an OpenAI-compatible server (rag.backends.openai_generator);
    # llm_model is then the served model's name (default: the server's only model).
    llm_base_url: str = Field(
        "http://127.0.0.1:8080/v1", description="openai: the server's base URL, up to /v1"
    )
    llm_api_key: SecretStr | None = Field(
        None, description="openai: bearer token (RAG_LLM_API_KEY); never printed"
    )
    llm_api: Literal["auto", "chat", "completions"] = Field(
        "auto",
        description="openai: /v1/completions (base models) or /v1/chat/completions (instruct "
        "models); auto picks chat for names with instruct/chat/-it",
    )
    llm_constrain: Literal["auto", "gbnf", "vllm", "none"] = Field(
        "auto",
        description="openai: constrained decoding; gbnf = llama.cpp's `grammar` field, vllm = "
        "structured_outputs.grammar; auto = gbnf, dropped if the server refuses it",
    )
    llm_top_logprobs: int = Field(
        20, ge=0, le=20, description="openai: top logprobs asked for the abstention signal; 0: off"
    )
    llm_timeout: float = Field(60.0, gt=0, le=3600, description="openai: seconds per request")
    llm_retries: int = Field(
        2, ge=0, le=10, description="openai: retries on connection errors, 429 and 5xx"
    )
    llm_answer: Literal["free", "copy"] = Field(
        "free",
        description="openai: free = the model answers in its own words from numbered passages "
        "and every claim is checked (rag.claims); copy = one evidence sentence, a copy grammar "
        "and one verbatim span",
    )
    llm_context: int = Field(
        2048,
        ge=512,
        le=1_048_576,
        description="openai: the model's context in tokens when the server does not say "
        "(llama.cpp's /props and vLLM's /v1/models do)",
    )
    llm_answer_tokens: int = Field(
        300, ge=16, le=4096, description="openai, free: tokens kept for the answer"
    )
    llm_passages: int = Field(
        8, ge=1, le=50, description="openai, free: passages offered to the model (as many as fit)"
    )
    llm_prompts: Path | None = Field(
        None, description="openai, free: a TOML file replacing the prompt templates"
    )
    unsupported_claims: Literal["drop", "mark"] = Field(
        "drop",
        description="a claim that fails the check is dropped, or shown marked as unsupported",
    )

    # Ingestion
    chunk_size: int = Field(700, ge=100, le=8000, description="Target chunk length in characters.")
    chunk_overlap: int = Field(120, ge=0, description="Characters shared by neighbouring chunks.")
    max_file_mb: float = Field(20.0, gt=0)
    embed_batch_size: int = Field(
        256,
        ge=1,
        le=1024,
        description="Chunks embedded and stored together when ingesting (and texts per request "
        "to an embedding server); in-process models split it into their own smaller batches.",
    )
    max_article_chars: int = Field(
        2_000_000,
        ge=1000,
        description="Refuse a file (or JSONL line) whose extracted text is longer (PDF bombs).",
    )
    max_article_chunks: int = Field(
        4000, ge=1, description="Refuse an article that would make more chunks than this."
    )
    max_extract_s: float = Field(
        60.0,
        gt=0,
        le=86400,
        description="Seconds one file's text extraction may take (in a child process that is "
        "stopped then); the file is refused and the others go on.",
    )
    max_extract_mb: float = Field(
        2000.0,
        ge=100,
        description="Memory (MB of address space) the text extraction process may use.",
    )
    lock_timeout: float = Field(
        600.0,
        ge=0,
        description="Seconds a writer (ingest, delete, repair) waits for another one to finish.",
    )

    # Browser UI
    upload_threads: int = Field(
        1, ge=1, le=64, description="CPU threads a UI upload embeds with (questions keep theirs)."
    )
    login_max_failures: int = Field(
        5, ge=1, le=1000, description="Failed logins per user before a lockout (per address: 4x)."
    )
    login_lockout_s: float = Field(
        30.0, gt=0, le=86400, description="First lockout after failed logins; doubles each time."
    )

    # What reaches stderr and where tracebacks go
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "warning",
        description="stderr shows this level and above; libraries' own lines count as debug",
    )
    log_file: Path | None = Field(
        None, description="where tracebacks of bugs are kept (default: <home>/logs/rag.log)"
    )

    # Retrieval and answering
    retrieval: Literal["dense", "bm25", "hybrid"] = "hybrid"
    top_k: int = Field(4, ge=1, le=50, description="Passages shown to the model and cited.")
    fetch_k: int = Field(20, ge=1, le=500, description="Candidates per retriever before fusion.")
    evidence_sentences: int = Field(1, ge=1, le=20, description="Sentences shown to the model.")
    min_relevance: float = Field(
        0.25,
        ge=-1.0,
        le=1.0,
        description="Abstain when no passage has this cosine similarity to the question and "
        "the best sentence covers less than min_coverage of it (summaries never abstain).",
    )
    min_coverage: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Weighted share of the question's words (names count double) the best "
        "evidence sentence, the one before it and the article's title must hold for an "
        "answer when no passage reaches min_relevance.",
    )
    min_sentence_coverage: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="A factoid the model would rather not copy (min_copy_prob) is answered "
        "with the whole best sentence when it holds this share of the question's words.",
    )
    min_topic_coverage: float = Field(
        0.34,
        ge=0.0,
        le=1.0,
        description="A factoid is abstained on when the best sentence holds less than this "
        "share of the question's words other than names (what it asks about) and the model "
        "is unsure of copying from it (min_topic_copy_prob).",
    )
    min_topic_copy_prob: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="A factoid whose best sentence misses what it asks about "
        "(min_topic_coverage) is answered only when the model gives at least this "
        "probability to answering with words of that sentence.",
    )
    min_copy_prob: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="Abstain when the model gives less than this probability to answering "
        "with words of the evidence.",
    )

    @field_validator("chroma_url", "embedding_base_url", "llm_base_url", mode="after")
    @classmethod
    def _check_url(cls, value: str | None, info) -> str | None:
        path = "" if info.field_name == "chroma_url" else "/v1"
        return None if value is None else http_url(value, path)

    @field_validator("chroma_host", mode="after")
    @classmethod
    def _check_host(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(c in value for c in ":/ ")):
            raise ValueError("must be a host name alone, e.g. db.example.org (or set chroma_url)")
        return value

    @field_validator("embedder", "generator", "store", mode="after")
    @classmethod
    def _check_backend(cls, value: str, info) -> str:
        if value not in BACKENDS[info.field_name]:
            raise ValueError(f"must be one of {', '.join(sorted(BACKENDS[info.field_name]))}")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("chroma_token", "embedding_api_key", "llm_api_key", mode="after")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("must not be empty (unset the variable instead)")
        return value

    @field_validator("home", "log_file", mode="after")
    @classmethod
    def _expand_path(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser()

    def __init__(self, _given: Iterable[str] | None = None, **values: object):
        """Validate the ``RAG_*`` environment and ``values``; a bad value raises one
        ``ConfigError`` naming it as given (``RAG_TOP_K=abc`` or ``top_k=0``)."""
        given = set(values if _given is None else _given)
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _config_error(exc, given) from None
        self._check_consistency(given)

    def _check_consistency(self, given: set[str]) -> None:
        def fail(field: str, accepted: str):
            value = getattr(self, field)
            raise ConfigError(field, value, accepted, label=label_of(field, given))

        if self.chunk_overlap >= self.chunk_size:
            fail("chunk_overlap", f"must be smaller than chunk_size ({self.chunk_size})")
        if self.fetch_k < self.top_k:
            fail("fetch_k", f"must be at least top_k ({self.top_k})")
        if self.home.exists() and not self.home.is_dir():
            fail("home", "must be a directory (this path is a file)")
        if self.log_file is not None and self.log_file.is_dir():
            fail("log_file", "must be a file path (this path is a directory)")
        if self.embedder == "openai" and not self.embedding_base_url:
            fail("embedder", "needs RAG_EMBEDDING_BASE_URL too, e.g. http://127.0.0.1:11434/v1")
        if self.embedder == "openai" and not self.embedding_model:
            fail("embedder", "needs RAG_EMBEDDING_MODEL too: the model the server serves")
        in_process = {"sentence-transformers", "onnx-int8", "auto"}
        local_model = self.embedding_model and self.embedder in in_process
        if local_model and not Path(self.embedding_model).expanduser().exists():
            fail("embedding_model", "must be a local model directory (no such path)")
        if self.llm_prompts is not None:
            from rag.prompts import load_templates

            try:
                load_templates(self.llm_prompts)
            except (ValueError, OSError) as exc:
                reason = str(exc).split("): ", 1)[-1]
                fail("llm_prompts", f"must be a TOML file of prompt templates; {reason}")
        local_llm = self.llm_model and self.generator == "llama-cpp"
        if local_llm and not Path(self.llm_model).expanduser().is_file():
            fail("llm_model", "must be a GGUF file (no such file)")

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def chroma_server(self) -> str | None:
        """The Chroma server's URL (``chroma_url``, or ``chroma_host``:``chroma_port``), or
        None for the local directory.

        >>> Settings(chroma_host="db", chroma_port=8001).chroma_server
        'http://db:8001'
        >>> Settings(chroma_url="https://db.example.org/").chroma_server
        'https://db.example.org'
        """
        if self.chroma_url:
            return self.chroma_url
        if self.chroma_host:
            return f"http://{self.chroma_host}:{self.chroma_port}"
        return None

    @property
    def uploads_path(self) -> Path:
        return self.home / "uploads"

    @property
    def log_path(self) -> Path:
        return self.log_file or self.home / "logs" / "rag.log"

    def with_overrides(self, **overrides: object) -> Settings:
        """A copy with the given non-None fields replaced, validated again.

        >>> Settings().with_overrides(top_k=0)
        Traceback (most recent call last):
        rag.errors.ConfigError: top_k=0: top_k must be a whole number from 1 to 50
        """
        changes = {k: v for k, v in overrides.items() if v is not None}
        if not changes:
            return self
        return Settings(_given=changes, **{**self.model_dump(), **changes})

    def label(self, field: str) -> str:
        """How the user set ``field``: ``RAG_<FIELD>`` when it comes from the environment."""
        return label_of(field, set())


def label_of(field: str, given: set[str]) -> str:
    """``field`` when given as a keyword, else its environment variable if that is set."""
    env = ENV_PREFIX + field.upper()
    return env if field not in given and env in os.environ else field


def http_url(value: str, path: str = "/v1") -> str:
    """An http(s) URL with a host, without a trailing slash; else ValueError saying what is
    accepted, with an example made from the value (``path``: what usually follows the port).

    >>> http_url("http://127.0.0.1:8080/v1/")
    'http://127.0.0.1:8080/v1'
    >>> http_url("localhost:8894")
    Traceback (most recent call last):
    ValueError: must be an http:// or https:// URL, e.g. http://localhost:8894/v1
    """
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        try:
            if parts.port != 0:
                return value
        except ValueError:
            pass
        raise ValueError("must have a port from 1 to 65535 after the host")
    rest = value.split("://", 1)[1] if "://" in value else value.rstrip(":")
    host = rest.split("/", 1)[0] if "/" not in value or "://" in value else ""
    host = host if host and host not in ("http", "https") else "127.0.0.1:8080"
    raise ValueError(f"must be an http:// or https:// URL, e.g. http://{host}{path}")


def accepted(field: str) -> str:
    """What ``field`` accepts, in words, from its type and limits.

    >>> accepted("top_k"), accepted("retrieval")
    ('must be a whole number from 1 to 50', 'must be one of dense, bm25, hybrid')
    >>> accepted("max_file_mb"), accepted("chunk_overlap")
    ('must be a number > 0', 'must be a whole number ≥ 0')
    """
    if field in _ACCEPTS:
        return _ACCEPTS[field]
    info = Settings.model_fields[field]
    kind = info.annotation
    if get_origin(kind) in (Union, UnionType):  # X | None
        kind = next(a for a in get_args(kind) if a is not type(None))
    if get_origin(kind) is Literal:
        return "must be one of " + ", ".join(str(c) for c in get_args(kind))
    limits = {
        type(m).__name__: getattr(m, name)
        for m in info.metadata
        for name in ("ge", "gt", "le", "min_length")
        if hasattr(m, name)
    }
    if kind is int or kind is float:
        noun = "a whole number" if kind is int else "a number"
        low = limits.get("Ge", limits.get("Gt"))
        high = limits.get("Le")
        if "Ge" in limits and high is not None:
            return f"must be {noun} from {_num(low)} to {_num(high)}"
        parts = []
        if low is not None:
            parts.append(f"{'≥' if 'Ge' in limits else '>'} {_num(low)}")
        if high is not None:
            parts.append(f"≤ {_num(high)}")
        return f"must be {noun}" + (" " + " and ".join(parts) if parts else "")
    if kind is Path:
        return "must be a path"
    if kind is bool:
        return "must be true or false"
    if "MinLen" in limits:
        return f"must be at least {limits['MinLen']} characters"
    return "must be text"


def _num(value: float) -> str:
    """>>> _num(1_048_576), _num(0.25), _num(-1.0)
    ('1048576', '0.25', '-1')
    """
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


_ACCEPTS = {
    "collection": "must be 3 to 60 characters: letters, digits, _ or -",
}


def _config_error(exc: ValidationError, given: set[str]) -> ConfigError:
    """The first problem of a failed validation as one ``ConfigError``."""
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    if field not in Settings.model_fields:  # an unknown keyword (extra="forbid")
        return ConfigError(field or "settings", first.get("input"), "is not a setting")
    raw = first.get("input")
    ours = first["type"] == "value_error"  # our validators say what they accept
    message = str(first["ctx"]["error"]) if ours else accepted(field)
    info = Settings.model_fields[field]
    secret = SecretStr in get_args(info.annotation) or info.annotation is SecretStr
    if isinstance(raw, SecretStr):
        raw = raw.get_secret_value()
    error = ConfigError(field, raw, message, label=label_of(field, given), secret=secret)
    more = len(exc.errors()) - 1
    if more:
        error.accepted += f" (and {more} more bad setting{'s' if more > 1 else ''})"
        error.args = (error.message(),)
    return error


_from_environment: tuple[tuple, Settings] | None = None


def resolve(settings: Settings | None = None, **overrides: object) -> Settings:
    """The settings a public entry point runs with: ``settings`` (or, when None, those of
    the ``RAG_*`` environment, parsed again only when it changed) with ``overrides`` (their
    non-None values). Everything below an entry point takes the result as an argument.

    >>> resolve(Settings(top_k=3), top_k=None).top_k, resolve(Settings(top_k=3), top_k=5).top_k
    (3, 5)
    """
    global _from_environment
    if settings is None:
        snapshot = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("RAG_")))
        cached = _from_environment
        if cached is None or cached[0] != snapshot:
            cached = _from_environment = (snapshot, Settings())
        settings = cached[1]
    return settings.with_overrides(**overrides)
