"""A scripted OpenAI-compatible chat server on 127.0.0.1 sends faithful and unfaithful claims
about the demo article: the unfaithful ones never reach the user, from the Python API, the
streamed pieces, the CLI (a real subprocess) or ``rag eval``. Real MiniLM and Chroma."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

import ingest
import rag
from tests.conftest import CORPUS, ROOT
from tests.scripted_llm_server import MODEL, ScriptedServer

pytestmark = pytest.mark.integration

PAY_Q = "How much does SoftBank pay OpenAI?"
WHY_Q = "Why did Son berate Japanese companies?"
PAY_PHRASE = "$3 billion (£2.4bn) a year"
BERATE_PHRASE = "Son has berated Japanese companies"
SCRIPT = {
    PAY_Q: [
        ("SoftBank will pay OpenAI $3 billion (£2.4bn) a year to use its services", PAY_PHRASE),
        ("SoftBank will pay OpenAI $5 billion a year", PAY_PHRASE),  # a changed number
        ("OpenAI will pay SoftBank $3 billion a year", PAY_PHRASE),  # a swapped subject
    ],
    WHY_Q: [
        ("Son berated Japanese companies for not using enough AI", BERATE_PHRASE),
        ("He compared companies that don't use the technology to “goldfish”", BERATE_PHRASE),
        ("Son praised Japanese companies for using enough AI", BERATE_PHRASE),  # negation dropped
        ("Microsoft berated Japanese companies for not using enough AI", BERATE_PHRASE),
    ],
}
UNFAITHFUL = ("$5 billion", "OpenAI will pay SoftBank", "praised", "Microsoft berated")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("corpus")
    shutil.copy(CORPUS / "softbank-openai-japan.txt", corpus)
    with ScriptedServer(SCRIPT) as server:
        settings = rag.Settings(
            home=tmp_path_factory.mktemp("rag-home"),
            generator="openai",
            llm_base_url=server.base_url,
            llm_model=MODEL,
        )
        assert ingest.ingest(corpus, settings=settings).ok
        yield settings, server


def _shown(text: str) -> None:
    for bad in UNFAITHFUL:
        assert bad not in text, text


def test_api_shows_only_checked_claims_with_exact_sentences(served):
    settings, server = served
    a = rag.answer(PAY_Q, settings=settings)
    assert not a.abstained and len(a.claims) == 1 and len(a.dropped) == 2
    assert a.text.startswith("SoftBank will pay OpenAI $3 billion (£2.4bn) a year")
    _shown(a.text)
    [c] = a.citations
    assert rag.article_text(c.article_id, settings=settings)[c.start : c.end] == c.quote
    assert PAY_PHRASE in c.quote and c.quote.endswith("PayPay and LY.")
    body = server.requests[-1]
    assert body["messages"][0]["content"].startswith("You answer questions about news")
    assert "[1] SoftBank, OpenAI Create Joint Venture" in body["messages"][1]["content"]
    assert 'num ::= "1"' in body["grammar"]  # the form grammar: every sentence cites


def test_a_why_question_keeps_the_supported_sentences(served):
    settings, _ = served
    a = rag.answer(WHY_Q, settings=settings)
    assert [c.check.passed for c in a.claims] == [True, True], a.claims
    _shown(a.text)
    assert {d.check.reason.split(":")[0] for d in a.dropped} == {
        "drops the negation of",
        "not in the cited sentences",
    }
    assert a.citations[0].quote.startswith(BERATE_PHRASE) and len(a.citations) == 1
    assert a.text.endswith("[1]") and a.text.count("[1]") == 2


def test_streamed_pieces_never_carry_an_unfaithful_claim(served):
    settings, _ = served
    items = list(rag.stream_answer(WHY_Q, settings=settings))
    streamed = "".join(i for i in items if isinstance(i, str))
    _shown(streamed)
    assert streamed == items[-1].text


def test_marked_mode_shows_them_marked_and_uncited(served):
    settings, _ = served
    a = rag.answer(PAY_Q, settings=settings.with_overrides(unsupported_claims="mark"))
    assert a.text.count("(unsupported)") == 2 and a.text.count("[1]") == 1


def test_cli_prints_only_checked_claims(served):
    settings, server = served
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(
        PYTHONPATH=str(ROOT),
        RAG_HOME=str(settings.home),
        RAG_GENERATOR="openai",
        RAG_LLM_BASE_URL=server.base_url,
        RAG_LLM_MODEL=MODEL,
    )
    done = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ask", WHY_Q],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "Son berated Japanese companies for not using enough AI." in done.stdout
    _shown(done.stdout)


def test_eval_results_hold_only_checked_claims(served, tmp_path):
    settings, _ = served
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        "\n".join(json.dumps({"question": q, "answers": ["x"]}) for q in (PAY_Q, WHY_Q))
    )
    out = tmp_path / "eval"
    ingest.evaluate(questions, settings=settings, out_dir=out, warmup=False)
    text = (out / "results.jsonl").read_text()
    assert "Son berated Japanese companies" in text
    _shown(text)
