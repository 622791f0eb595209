"""The server backends with real servers started here, on free loopback ports, stopped after:

- ``chroma run`` (the Chroma server that comes with chromadb) holds the index;
- ``python -m llama_cpp.server --embedding true`` serves OpenAI-compatible embeddings of the
  shipped Gemma 3 270M GGUF (mean-pooled, through a GGUF metadata override), a second real
  embedding model next to the in-process all-MiniLM-L6-v2;
- ``rag ui`` and ``rag ingest`` run as separate processes sharing one Chroma server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ingest
import rag
from rag.backends.chroma import ChromaServerError
from rag.protocols import EmbedderMismatch
from rag.records import EmbeddingModel
from tests.conftest import SEED
from tests.servers import free_port, start

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLE = "How much does SoftBank pay OpenAI?"
MINILM = EmbeddingModel("sentence-transformers:all-MiniLM-L6-v2", 384)
GEMMA_EMBEDDINGS = EmbeddingModel("openai:gemma-3-270m", 640)
BAKERY_TEXT = """Lumen bakery opens in Tartu

The Lumen bakery opened on Rüütli Street in Tartu in March.
Its owner, Maria Kask, trained as a baker in Vienna for six years.
The bakery bakes 400 loaves of rye bread every morning.
It also sells cinnamon buns and coffee.
"""
BAKERY_QUESTION = "How many loaves of rye bread does the Lumen bakery bake every morning?"


@pytest.fixture(scope="session")
def embedding_server(tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server with embeddings of the shipped GGUF."""
    from rag.backends.llama_cpp import model_path

    for module in ("uvicorn", "fastapi", "sse_starlette", "starlette_context"):
        if not os.environ.get("CI"):
            pytest.importorskip(module, reason="pip install -e '.[test]' (llama_cpp.server)")
    tmp = tmp_path_factory.mktemp("embedding-server")
    gguf = model_path(rag.Settings())
    argv = lambda port: [  # noqa: E731
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
        "--model_alias", "gemma-3-270m", "--embedding", "true",
        # Gemma has no pooling of its own: mean-pool its last hidden states, one vector a text
        "--kv_overrides", "gemma3.pooling_type=int:1",
        "--n_ctx", "1024", "--n_threads", "2",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    server = start("llama-cpp-embeddings", argv, "/v1/models", tmp, timeout=120)
    yield server
    server.stop()


def server_store(chroma_server, tmp_path_factory, collection: str) -> rag.Settings:
    home = tmp_path_factory.mktemp("home") / "rag-home"
    return rag.Settings(home=home, chroma_url=chroma_server.url, collection=collection)


def check_seed_answer(settings: rag.Settings) -> rag.Answer:
    a = rag.answer(EXAMPLE, settings=settings)
    assert not a.abstained, a
    assert "$3 billion" in a.text and "[1]" in a.text
    [c] = a.citations
    assert c.source.endswith("softbank-openai-japan.txt")
    assert "$3 billion" in c.quote
    assert rag.article_text(c.article_id, settings=settings)[c.start : c.end] == c.quote
    return a


def test_seed_question_with_the_index_on_a_chroma_server(chroma_server, tmp_path_factory):
    settings = server_store(chroma_server, tmp_path_factory, "seed_on_server")
    report = ingest.ingest(SEED, settings=settings)
    assert report.ok and report.counts["added"] == 1, report
    check_seed_answer(settings)
    assert not settings.chroma_path.exists()  # nothing went to the local directory
    st = rag.status(settings)
    assert st.data_dir == chroma_server.url
    assert st.n_articles == 1 and st.n_chunks == report.results[0].n_chunks
    assert st.index_embedding_model == MINILM


def test_a_new_database_is_created_and_a_missing_tenant_named(chroma_server, tmp_path):
    article = tmp_path / "mill.txt"
    article.write_text("The old mill on the river has ground rye since 1820.")
    team = rag.Settings(home=tmp_path / "home", chroma_url=chroma_server.url)
    team = team.with_overrides(chroma_database="team_a")
    assert ingest.ingest(article, settings=team).ok
    assert rag.status(team).data_dir.endswith("database team_a)")
    assert rag.status(team).n_articles == 1
    assert rag.status(team.with_overrides(chroma_database="team_b")).n_articles == 0
    with pytest.raises(ChromaServerError) as err:
        rag.status(team.with_overrides(chroma_tenant="nobody"))
    assert str(err.value) == (
        f"Chroma server {chroma_server.url}: tenant 'nobody' not found (RAG_CHROMA_TENANT)"
    )


@pytest.fixture(scope="module")
def gemma_embedded(embedding_server, tmp_path_factory):
    """The seed article embedded by the embedding server (index in a local directory)."""
    settings = rag.Settings(
        home=tmp_path_factory.mktemp("gemma") / "rag-home",
        embedder="openai",
        embedding_base_url=embedding_server.url + "/v1",
        embedding_model="gemma-3-270m",
    )
    report = ingest.ingest(SEED, settings=settings)
    assert report.ok and report.counts["added"] == 1, report
    return settings


def test_seed_question_with_embeddings_from_a_server(gemma_embedded):
    check_seed_answer(gemma_embedded)
    assert rag.status(gemma_embedded).index_embedding_model == GEMMA_EMBEDDINGS


def test_an_index_built_by_one_real_model_refuses_another(gemma_embedded):
    no_name = gemma_embedded.model_copy(update={"embedding_model": None})  # the server's name
    minilm = no_name.with_overrides(embedder="sentence-transformers")
    expected = (
        "collection 'articles' was built with openai:gemma-3-270m (640 dims); this run uses "
        "sentence-transformers:all-MiniLM-L6-v2 (384 dims)"
    )
    with pytest.raises(EmbedderMismatch, match=expected.replace("(", r"\(").replace(")", r"\)")):
        rag.answer(EXAMPLE, settings=minilm)
    changed = gemma_embedded.home / "changed.txt"
    changed.write_text("The Lumen bakery bakes 400 loaves of rye bread every morning.")
    with pytest.raises(EmbedderMismatch):
        ingest.ingest(changed, settings=minilm)
    assert [a.source for a in rag.status(gemma_embedded).articles] == [str(SEED)]


def run_cli(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def cli_env(tmp_path, **variables: str) -> dict[str, str]:
    env = {**os.environ, "RAG_HOME": str(tmp_path / "rag-home"), **variables}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path.cwd()), env.get("PYTHONPATH")]))
    return env


def test_a_stopped_chroma_server_is_one_line_naming_it(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = run_cli("ingest", str(SEED), env=cli_env(tmp_path, RAG_CHROMA_URL=url))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"rag: error: Chroma server {url}: cannot connect"), lines


def test_a_stopped_embedding_server_is_one_line_naming_it(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    env = cli_env(
        tmp_path, RAG_EMBEDDER="openai", RAG_EMBEDDING_BASE_URL=url, RAG_EMBEDDING_MODEL="m"
    )
    result = run_cli("ingest", str(SEED), env=env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"rag: error: embedding server {url}/embeddings: cannot connect")


def test_ui_answers_from_articles_another_process_just_added(
    chroma_server, tmp_path, tmp_path_factory
):
    """A running ``rag ui`` and a CLI ``rag ingest`` share one Chroma server: the UI's next
    question sees the new article, without a restart."""
    from gradio_client import Client

    settings = server_store(chroma_server, tmp_path_factory, "shared")
    assert ingest.ingest(SEED, settings=settings).ok
    env = cli_env(tmp_path, RAG_CHROMA_URL=chroma_server.url, RAG_COLLECTION="shared")
    ui_port = free_port()
    argv = lambda port: [sys.executable, "-m", "rag.cli", "ui", "--port", str(port)]  # noqa: E731
    ui = start("rag-ui", argv, "/", tmp_path, timeout=240, env=env, port=ui_port)
    try:
        client = Client(ui.url, verbose=False)

        def ask(question: str) -> dict:
            return client.submit(question, 4, api_name="/ask").result(timeout=180)

        before = ask(BAKERY_QUESTION)
        assert not any(c["source"].endswith("lumen-bakery.txt") for c in before["citations"])

        article = tmp_path / "lumen-bakery.txt"
        article.write_text(BAKERY_TEXT)
        added = run_cli("ingest", str(article), env=env)
        assert added.returncode == 0, added.stderr
        assert "added: " in added.stdout

        after = ask(BAKERY_QUESTION)
        assert not after["abstained"], after
        [c] = after["citations"]
        assert c["source"].endswith("lumen-bakery.txt") and "400" in c["quote"]
        assert (
            rag.article_text(c["article_id"], settings=settings)[c["start"] : c["end"]]
            == (c["quote"])
        )
    finally:
        ui.stop()
