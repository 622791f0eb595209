"""One typed settings object, read from ``RAG_*`` environment variables.

>>> Settings(top_k=3).top_k
3
>>> Settings(home="/tmp/x").chroma_path.as_posix()
'/tmp/x/chroma'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything configurable. Environment: ``RAG_<FIELD>`` (e.g. ``RAG_HOME``, ``RAG_TOP_K``)."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="forbid", frozen=True)

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

    @field_validator("chroma_url", "embedding_base_url", mode="after")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")) or len(value.split("://", 1)[1]) == 0:
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than "
                f"chunk_size ({self.chunk_size})"
            )
        if self.fetch_k < self.top_k:
            raise ValueError(f"fetch_k ({self.fetch_k}) must be at least top_k ({self.top_k})")
        return self

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

    def with_overrides(self, **overrides: object) -> Settings:
        """A copy with the given non-None fields replaced, validated again."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        if not changes:
            return self
        return Settings(**{**self.model_dump(), **changes})


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
