"""`rag eval corpus/questions.jsonl` with the real embedder, Chroma and llama.cpp model."""

import json

import pytest

import ingest
import rag
from rag.cli import main
from tests.conftest import CORPUS, SEED

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_rag_eval_on_the_corpus_questions(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(CORPUS.parent)  # the questions name their source relative to the repo
    report = ingest.ingest(SEED)  # RAG_HOME points into tmp_path
    assert report.ok, report
    out = tmp_path / "eval"

    assert main(["eval", str(CORPUS / "questions.jsonl"), "--out", str(out), "--quiet"]) == 0

    assert "f1" in capsys.readouterr().out
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and len({r["id"] for r in rows}) == 12
    for row in rows:
        assert {
            "question",
            "answer",
            "abstained",
            "citations",
            "gold_answers",
            "exact_match",
            "f1",
            "retrieved_rank",
            "latency_s",
            "prompt_tokens",
            "completion_tokens",
        } <= set(row)
        assert row["retrieved_rank"] == 1  # one article: it is always the first passage's
        for c in row["citations"]:
            assert (
                rag.article_text(rag.status().articles[0].id)[c["start"] : c["end"]] == c["quote"]
            )

    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "n",
        "em",
        "f1",
        "hit_at_1",
        "hit_at_5",
        "mrr",
        "abstain_precision",
        "abstain_recall",
        "citation_support",
        "latency_p50_s",
        "latency_p95_s",
    ):
        assert key in summary
    assert summary["n"] == 12 and summary["n_answerable"] == 8 and summary["n_unanswerable"] == 4
    assert summary["hit_at_5"] == 1.0
    assert summary["f1"] > 0  # at least one answer is right; the benchmark measures how many
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3


def test_two_workers_each_have_their_own_model_and_give_the_same_answers(tmp_path, monkeypatch):
    from ingest.evaluation import evaluate
    from ingest.evaluation.runner import worker_assistants
    from rag.api import get_assistant

    monkeypatch.chdir(CORPUS.parent)
    assert ingest.ingest(SEED).ok
    settings = rag.Settings(n_threads=2)
    workers = worker_assistants(get_assistant(settings), 2)
    assert len({id(w.llm) for w in workers}) == 2 and all(w.llm.n_threads == 1 for w in workers)
    questions = CORPUS / "questions.jsonl"
    one = evaluate(questions, settings=settings, limit=4, warmup=False)
    two = evaluate(questions, settings=settings, limit=4, workers=2, warmup=False)
    assert [r["answer"] for r in one.rows] == [r["answer"] for r in two.rows]
    assert two.summary["run"]["answered_per_s"] > 0
