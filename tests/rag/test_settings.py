"""Settings: read from RAG_* variables, keywords and CLI flags; every bad value of every
setting is one line naming it, the value and what it accepts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rag import cli
from rag.errors import ConfigError
from rag.settings import Settings, accepted
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

# field -> (a bad value of its RAG_* variable, a phrase the error must contain). "{file}" and
# "{dir}" stand for an existing file and folder. Every field of Settings must be here: a new
# setting needs its bad value too.
BAD_VALUES = {
    "home": ("{file}", "home must be a directory"),
    "collection": ("x1", "collection must be 3 to 60 characters"),
    "chroma_url": ("db:8000", "must be an http:// or https:// URL, e.g. http://db:8000"),
    "chroma_token": (" ", "chroma_token must not be empty"),
    "chroma_token_header": ("Bearer", "must be one of Authorization, X-Chroma-Token"),
    "chroma_tenant": ("ab", "chroma_tenant must be at least 3 characters"),
    "chroma_database": ("ab", "chroma_database must be at least 3 characters"),
    "chroma_host": ("http://db", "chroma_host must be a host name alone"),
    "chroma_port": ("99999", "chroma_port must be a whole number from 1 to 65535"),
    "embedder": ("bogus", "embedder must be one of auto, onnx-int8, openai, sentence-transformers"),
    "generator": ("bogus", "generator must be one of llama-cpp, openai"),
    "store": ("bogus", "store must be one of chroma, memory"),
    "embedding_model": ("/no/such/model", "embedding_model must be a local model directory"),
    "embedding_base_url": ("localhost:11434", "e.g. http://localhost:11434/v1"),
    "embedding_api_key": ("", "embedding_api_key must not be empty"),
    "embedding_timeout": ("0", "embedding_timeout must be a number > 0 and ≤ 3600"),
    "embedding_max_retries": ("-1", "embedding_max_retries must be a whole number from 0 to 10"),
    "llm_model": ("/no/such.gguf", "llm_model must be a GGUF file"),
    "n_threads": ("0", "n_threads must be a whole number ≥ 1"),
    "n_ctx": ("100", "n_ctx must be a whole number from 512 to 32768"),
    "max_tokens": ("abc", "max_tokens must be a whole number from 1 to 512"),
    "llm_base_url": ("localhost:8894", "llm_base_url must be an http:// or https:// URL"),
    "llm_api_key": (" ", "llm_api_key must not be empty"),
    "llm_api": ("bogus", "llm_api must be one of auto, chat, completions"),
    "llm_constrain": ("bogus", "llm_constrain must be one of auto, gbnf, vllm, none"),
    "llm_top_logprobs": ("21", "llm_top_logprobs must be a whole number from 0 to 20"),
    "llm_timeout": ("inf", "llm_timeout must be a number > 0 and ≤ 3600"),
    "llm_retries": ("two", "llm_retries must be a whole number from 0 to 10"),
    "llm_answer": ("verbatim", "llm_answer must be one of free, copy"),
    "llm_context": ("256", "llm_context must be a whole number from 512 to 1048576"),
    "llm_answer_tokens": ("8", "llm_answer_tokens must be a whole number from 16 to 4096"),
    "llm_passages": ("0", "llm_passages must be a whole number from 1 to 50"),
    "llm_prompts": ("{dir}/none.toml", "llm_prompts must be a TOML file of prompt templates"),
    "unsupported_claims": ("hide", "unsupported_claims must be one of drop, mark"),
    "chunk_size": ("50", "chunk_size must be a whole number from 100 to 8000"),
    "chunk_overlap": ("800", "chunk_overlap must be smaller than chunk_size (700)"),
    "max_file_mb": ("0", "max_file_mb must be a number > 0"),
    "embed_batch_size": ("0", "embed_batch_size must be a whole number from 1 to 1024"),
    "max_article_chars": ("10", "max_article_chars must be a whole number ≥ 1000"),
    "max_article_chunks": ("0", "max_article_chunks must be a whole number ≥ 1"),
    "max_extract_s": ("0", "max_extract_s must be a number > 0 and ≤ 86400"),
    "max_extract_mb": ("50", "max_extract_mb must be a number ≥ 100"),
    "lock_timeout": ("-1", "lock_timeout must be a number ≥ 0"),
    "upload_threads": ("0", "upload_threads must be a whole number from 1 to 64"),
    "login_max_failures": ("0", "login_max_failures must be a whole number from 1 to 1000"),
    "login_lockout_s": ("nan", "login_lockout_s must be a number > 0 and ≤ 86400"),
    "log_level": ("loud", "log_level must be one of debug, info, warning, error"),
    "log_file": ("{dir}", "log_file must be a file path"),
    "retrieval": ("magic", "retrieval must be one of dense, bm25, hybrid"),
    "top_k": ("abc", "top_k must be a whole number from 1 to 50"),
    "fetch_k": ("2", "fetch_k must be at least top_k (4)"),
    "evidence_sentences": ("0", "evidence_sentences must be a whole number from 1 to 20"),
    "min_relevance": ("2", "min_relevance must be a number from -1 to 1"),
    "min_coverage": ("1.5", "min_coverage must be a number from 0 to 1"),
    "min_sentence_coverage": ("x", "min_sentence_coverage must be a number from 0 to 1"),
    "min_topic_coverage": ("-0.2", "min_topic_coverage must be a number from 0 to 1"),
    "min_topic_copy_prob": ("1.5", "min_topic_copy_prob must be a number from 0 to 1"),
    "min_copy_prob": ("-0.1", "min_copy_prob must be a number from 0 to 1"),
}
SECRETS = {"chroma_token", "embedding_api_key", "llm_api_key"}


def test_every_setting_has_a_bad_value_in_the_table():
    assert set(BAD_VALUES) == set(Settings.model_fields)


def _value(raw: str, tmp_path) -> str:
    file = tmp_path / "a-file"
    file.write_text("x")
    return raw.format(file=file, dir=tmp_path)


@pytest.mark.parametrize("field", sorted(BAD_VALUES))
def test_a_bad_environment_value_is_one_line_naming_it(field, tmp_path, monkeypatch, capsys):
    raw, phrase = BAD_VALUES[field]
    value = _value(raw, tmp_path)
    variable = "RAG_" + field.upper()
    monkeypatch.setenv(variable, value)
    code = cli.main(["status"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1, err
    shown = "***" if field in SECRETS else " ".join(value.split()) or repr(value)
    assert err.startswith(f"rag: error: {variable}={shown}: "), err
    assert phrase in err
    if field in SECRETS and value.strip():
        assert value not in err


@pytest.mark.parametrize("field", sorted(BAD_VALUES))
def test_a_bad_keyword_is_one_line_naming_it(field, tmp_path):
    raw, phrase = BAD_VALUES[field]
    with pytest.raises(ConfigError) as caught:
        Settings(**{field: _value(raw, tmp_path)})
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{field}=") and phrase in message


# (command line, the one line it must print). Flags that set a field name the flag.
BAD_FLAGS = [
    (["ask", "q", "--top-k", "0"], "rag: error: --top-k 0: top_k must be a whole number from 1"),
    (["ask", "q", "--top-k", "abc"], "rag: error: --top-k abc: top_k must be a whole number"),
    (["ask", "q", "--retrieval", "magic"], "--retrieval: invalid choice: 'magic' (choose from"),
    (["ask", "q", "--collection", "x1"], "rag: error: --collection x1: collection must be 3 to"),
    (["status", "--home", "{file}"], "rag: error: --home {file}: home must be a directory"),
    (["ask", "q", "--since", "2024-13-01"], "--since 2024-13-01: since must be a date, YYYY"),
    (["ask", "q", "--until", "yesterday"], "--until yesterday: until must be a date, YYYY-MM-DD"),
    (
        ["ask", "q", "--since", "2024-02-01", "--until", "2024-01-01"],
        "--until 2024-01-01: until must not be before since (2024-02-01)",
    ),
    (["ask"], "rag ask: error: the following arguments are required: question"),
    (["eval", "q.jsonl", "--limit", "0"], "rag eval: error: --limit 0: must be a whole number ≥ 1"),
    (["eval", "q.jsonl", "--workers", "x"], "rag eval: error: --workers x: must be a whole number"),
    (["eval", "q.jsonl", "--sample", "-3"], "rag eval: error: --sample -3: must be a whole number"),
    (["eval", "q.jsonl", "--seed", "x"], "rag eval: error: --seed x: must be a whole number ≥ 0"),
    (["eval", "q.jsonl", "--top-k", "99"], "rag: error: --top-k 99: top_k must be a whole number"),
    (["eval", "q.jsonl", "--format", "xml"], "rag eval: error: --format: invalid choice: 'xml'"),
    (["eval", "{dir}/none.jsonl"], "rag: error: {dir}/none.jsonl: no such question file"),
    (["ui", "--port", "0"], "rag ui: error: --port 0: must be a whole number from 1 to 65535"),
    (["ui", "--port", "http"], "rag ui: error: --port http: must be a whole number from 1 to"),
    (["ui", "--auth", "ann"], "rag: error: --auth: expected USER:PASSWORD, e.g. --auth ann:s3"),
    (["ui", "--ssl-keyfile", "{file}"], "rag: error: --ssl-certfile: needed too"),
    (
        ["ui", "--ssl-keyfile", "{dir}/no.pem", "--ssl-certfile", "{file}"],
        "rag: error: --ssl-keyfile: no such file",
    ),
    (["ingest"], "rag ingest: error: the following arguments are required: PATH"),
    (["nonsense"], "rag: error: COMMAND: invalid choice: 'nonsense'"),
]


@pytest.mark.parametrize(("argv", "expected"), BAD_FLAGS, ids=[" ".join(a) for a, _ in BAD_FLAGS])
def test_a_bad_flag_is_one_line_naming_it(argv, expected, tmp_path, capsys):
    argv = [_value(a, tmp_path) for a in argv]
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert _value(expected, tmp_path) in err


def test_a_typo_in_a_variable_name_is_caught(monkeypatch, capsys):
    monkeypatch.setenv("RAG_TOPK", "3")
    assert cli.main(["status"]) == 2
    assert capsys.readouterr().err == (
        "rag: error: RAG_TOPK=3: RAG_TOPK is not a setting; did you mean RAG_TOP_K?\n"
    )


def test_a_bad_value_in_a_real_process_is_one_line(tmp_path):
    env = {**os.environ, "RAG_HOME": str(tmp_path / "home"), "RAG_LLM_API": "bogus"}
    done = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ask", "How much?"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "rag: error: RAG_LLM_API=bogus: llm_api must be one of auto, chat, completions\n"
    )
    assert not (tmp_path / "home").exists()


def test_environment_overrides_defaults(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "7")
    monkeypatch.setenv("RAG_RETRIEVAL", "bm25")
    s = Settings()
    assert s.top_k == 7 and s.retrieval == "bm25"


def test_keyword_overrides_win_and_none_is_ignored(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "7")
    s = Settings().with_overrides(top_k=2, collection=None)
    assert s.top_k == 2 and s.collection == "articles"


def test_an_override_names_the_keyword_and_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "9")
    with pytest.raises(ConfigError, match=r"^fetch_k=5: fetch_k must be at least top_k \(9\)$"):
        Settings().with_overrides(fetch_k=5)
    monkeypatch.setenv("RAG_FETCH_K", "5")
    with pytest.raises(ConfigError, match=r"^RAG_FETCH_K=5: fetch_k must be at least top_k"):
        Settings()


def test_unknown_keyword_is_rejected():
    with pytest.raises(ConfigError, match="^top_kk=3: top_kk is not a setting$"):
        Settings(top_kk=3)


def test_accepted_is_written_for_every_field():
    for field in Settings.model_fields:
        assert accepted(field).startswith("must be "), field


def test_the_log_level_is_case_blind_and_urls_lose_their_slash():
    s = Settings(log_level="DEBUG", llm_base_url="http://127.0.0.1:8080/v1/")
    assert s.log_level == "debug" and s.llm_base_url == "http://127.0.0.1:8080/v1"


@pytest.mark.parametrize("store", ["chroma", "memory"])
def test_each_store_is_accepted_and_status_on_a_fresh_home_creates_nothing(
    store, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("RAG_STORE", store)
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "home"))
    assert cli.main(["status"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "articles       : 0" in captured.out
    assert not (tmp_path / "home").exists()
