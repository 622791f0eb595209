"""A real ``rag ingest`` / ``rag delete`` SIGKILLed at named points (and at random times),
then repaired or re-run: the index must equal a clean run's, chunk by chunk, and no answer
may come from an article that is not committed."""

from __future__ import annotations

import random
import shutil
import time

import pytest

from ingest.indexer import ingest_paths
from rag import api
from rag.backends.chroma import ChromaStore
from rag.pipeline import Assistant
from rag.settings import Settings
from tests.fakes import HashEmbedder, ScriptedLLM
from tests.reliability.helpers import SIGKILLED, diff, rag, snapshot, spawn, stop

SMALL = {"RAG_CHUNK_SIZE": 200, "RAG_CHUNK_OVERLAP": 40, "RAG_EMBED_BATCH_SIZE": 4}
TOPICS = [
    ("quarry", "The Holloway quarry near Settle produced limestone blocks"),
    ("lighthouse", "The Fenwick lighthouse keeper logged storms on the north coast"),
    ("orchard", "The Pellham orchard grafted russet apples onto old rootstock"),
]


def article(name: str, lead: str, version: int = 1) -> str:
    sentences = [
        f"{lead} in year {1900 + i * 7 + version}, and the record of season {i} says so."
        for i in range(12)
    ]
    return f"# The {name}\n\n" + " ".join(sentences) + "\n"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kill-corpus")
    for name, lead in TOPICS:
        (folder / f"{name}.md").write_text(article(name, lead))
    return folder


def small(home) -> Settings:
    return Settings(home=home, chunk_size=200, chunk_overlap=40, embed_batch_size=4)


def ingest_in_process(home, folder):
    return ingest_paths([folder], settings=small(home), embedder=HashEmbedder())


@pytest.fixture(scope="module")
def clean(corpus, tmp_path_factory):
    """The index a clean run builds (and one for version 2 of the quarry article)."""
    home = tmp_path_factory.mktemp("clean") / "home"
    report = ingest_in_process(home, corpus)
    assert report.ok and report.count("added") == 3
    return snapshot(small(home))


KILL_POINTS = [
    "ingest:chunks-stored:1",
    "ingest:chunks-stored:3",
    "ingest:chunks-stored:6",
    "ingest:before-commit:1",
    "ingest:before-commit:3",
    "ingest:committed:1",
    "ingest:committed:2",
]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_killed_ingest_is_completed_by_the_next_ingest(point, corpus, clean, tmp_path):
    home = tmp_path / "home"
    killed = rag("ingest", str(corpus), home=home, kill_at=point, **SMALL)
    assert killed.returncode == SIGKILLED, killed.stderr
    report = ingest_in_process(home, corpus)
    assert report.ok, report.failed
    assert diff(snapshot(small(home)), clean) == ""
    assert ChromaStore(small(home)).health().ok


def test_status_reports_partial_state_and_repair_then_ingest_restores(corpus, clean, tmp_path):
    home = tmp_path / "home"
    killed = rag("ingest", str(corpus), home=home, kill_at="ingest:chunks-stored:3", **SMALL)
    assert killed.returncode == SIGKILLED
    status = rag("status", home=home)
    assert "uncommitted" in status.stdout and "rag status --repair" in status.stdout
    assert "orchard.md" not in status.stdout.split("uncommitted")[0]  # not listed as stored
    repaired = rag("status", "--repair", home=home)
    assert repaired.returncode == 0 and "removed" in repaired.stdout
    assert "partial state" not in repaired.stdout
    assert ChromaStore(small(home)).health().ok
    again = rag("ingest", str(corpus), home=home, **SMALL)
    assert again.returncode == 0, again.stderr
    assert diff(snapshot(small(home)), clean) == ""


@pytest.mark.parametrize("point", ["ingest:chunks-stored:1", "ingest:committed:1"])
def test_a_killed_update_keeps_one_version_and_completes(point, corpus, tmp_path):
    folder = tmp_path / "corpus"
    shutil.copytree(corpus, folder)
    home = tmp_path / "home"
    ingest_in_process(home, folder)
    (folder / "quarry.md").write_text(article("quarry", TOPICS[0][1], version=2))
    clean_home = tmp_path / "clean"
    ingest_in_process(clean_home, folder)
    killed = rag("ingest", str(folder), home=home, kill_at=point, **SMALL)
    assert killed.returncode == SIGKILLED
    # in between, retrieval sees exactly one version of the article, whole
    store = ChromaStore(small(home))
    quarry = [c for c, _ in store.all_chunks() if "Holloway" in c.text]
    assert len({c.article_id for c in quarry}) == 1
    texts = " ".join(c.text for c in quarry)
    assert ("1902" in texts) != ("1901" in texts)
    ingest_in_process(home, folder)
    assert diff(snapshot(small(home)), snapshot(small(clean_home))) == ""


@pytest.mark.parametrize("point", ["delete:record-gone:1", "delete:chunk-batch:1"])
def test_a_killed_delete_is_finished_by_deleting_again_and_undone_by_ingesting(
    point, corpus, clean, tmp_path
):
    home = tmp_path / "home"
    ingest_in_process(home, corpus)
    target = corpus / "lighthouse.md"
    killed = rag("delete", str(target), home=home, kill_at=point)
    assert killed.returncode == SIGKILLED
    assert all(i.source != str(target) for i in ChromaStore(small(home)).list_articles())
    again = rag("delete", str(target), home=home)
    if point == "delete:record-gone:1":  # chunks left without a record: deleting finds them
        assert again.returncode == 0 and "removed" in again.stdout, again.stderr
    else:  # killed after its last chunk batch: nothing left to delete
        assert again.returncode == 1 and "no stored article matches" in again.stderr
    assert all("Fenwick" not in text for _, text, _ in snapshot(small(home))["chunks"])
    assert ChromaStore(small(home)).health().ok
    ingest_in_process(home, corpus)
    assert diff(snapshot(small(home)), clean) == ""


def test_random_kills_then_ingest_equals_a_clean_run(tmp_path):
    """SIGKILL at random moments (seeded) of a longer ingest, four times in a row."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(12):
        (folder / f"a{i:02}.md").write_text(article(f"place {i}", f"Site number {i} stored grain"))
    rng = random.Random(10)
    started = time.monotonic()  # one whole run sets the time scale of the kills on this machine
    spawn("ingest", str(folder), home=tmp_path / "timing", **SMALL).communicate(timeout=120)
    whole = time.monotonic() - started
    home = tmp_path / "home"
    kills = 0
    for _ in range(4):
        proc = spawn("ingest", str(folder), home=home, **SMALL)
        time.sleep(rng.uniform(0.2, 0.8) * whole)
        if proc.poll() is None:
            kills += 1
        stop(proc)
    ingest_in_process(home, folder)
    clean_home = tmp_path / "clean"
    ingest_in_process(clean_home, folder)
    assert diff(snapshot(small(home)), snapshot(small(clean_home))) == ""
    assert kills >= 1  # at least one kill landed while it was running


@pytest.mark.integration
def test_real_embedder_killed_mid_ingest_then_rerun(corpus, tmp_path):
    home, clean_home = tmp_path / "home", tmp_path / "clean"
    killed = rag(
        "ingest", str(corpus), home=home, real=True, kill_at="ingest:chunks-stored:3", **SMALL
    )
    assert killed.returncode == SIGKILLED, killed.stderr[-2000:]
    assert rag("ingest", str(corpus), home=home, real=True, **SMALL).returncode == 0
    assert ingest_paths([corpus], settings=small(clean_home)).ok  # the real embedder, here
    assert diff(snapshot(small(home)), snapshot(small(clean_home))) == ""
    a = ChromaStore(small(home)).chunks.get(include=["embeddings"])
    b = ChromaStore(small(clean_home)).chunks.get(include=["embeddings"])
    va = dict(zip(a["ids"], a["embeddings"], strict=True))
    vb = dict(zip(b["ids"], b["embeddings"], strict=True))
    assert max(abs(x - y) for k in va for x, y in zip(va[k], vb[k], strict=True)) < 1e-4


# ----- answers only from committed articles ----------------------------------------------
def echo(prompt: str) -> str:
    return " ".join(prompt.split("Answer:")[0].split()[-6:])


@pytest.mark.parametrize("retrieval", ["dense", "bm25", "hybrid"])
def test_answers_never_cite_an_article_killed_mid_ingest(retrieval, corpus, tmp_path):
    home = tmp_path / "home"
    killed = rag("ingest", str(corpus), home=home, kill_at="ingest:chunks-stored:4", **SMALL)
    assert killed.returncode == SIGKILLED
    settings = small(home).with_overrides(retrieval=retrieval, min_relevance=-1.0)
    store = ChromaStore(settings)
    # the walk's order: lighthouse.md (3 batches of 4 chunks, committed), then orchard.md: its first
    # batch was stored, then the kill
    [committed] = store.list_articles()
    assert committed.source.endswith("lighthouse.md")
    assert store.count_chunks() == committed.n_chunks + 4  # ghost chunks exist
    question = "Which orchard grafted russet apples onto old rootstock?"
    ghost = str(corpus / "orchard.md")

    def ask():
        assistant = Assistant(settings, embedder=HashEmbedder(), llm=ScriptedLLM(echo))
        return assistant.answer(question)

    answer = ask()
    assert all(p.source != ghost for p in answer.passages)
    assert all(c.source != ghost for c in answer.citations)
    ingest_in_process(home, corpus)  # committed now: the same question finds it
    answer = ask()
    assert any(p.source == ghost for p in answer.passages)


def test_rag_ask_after_a_kill_does_not_cite_the_killed_file(corpus, tmp_path):
    home = tmp_path / "home"
    rag("ingest", str(corpus), home=home, kill_at="ingest:chunks-stored:4", **SMALL)
    store = ChromaStore(small(home))
    assert any("Pellham" in c.text for c, _ in store.all_chunks(committed_only=False))
    question = "Which orchard grafted russet apples onto old rootstock?"
    asked = rag("ask", question, "--json", home=home, RAG_MIN_RELEVANCE=-1)
    assert asked.returncode == 0, asked.stderr
    assert '"passages"' in asked.stdout  # retrieval ran
    assert "orchard.md" not in asked.stdout and "Pellham" not in asked.stdout


def test_status_api_counts_uncommitted_chunks(corpus, tmp_path):
    home = tmp_path / "home"
    rag("ingest", str(corpus), home=home, kill_at="ingest:chunks-stored:2", **SMALL)
    st = api.status(small(home), check=True)
    assert st.n_articles == 0 and sum(p.n_chunks for p in st.uncommitted) == st.n_chunks > 0
    assert api.delete(str(corpus / "lighthouse.md"), settings=small(home))  # partial: deletable
    assert ChromaStore(small(home)).count_chunks() == 0
