"""Our LangChain classes: LangChain's own standard test suites (``langchain-tests``) for the
retriever and the in-process embedders, the retriever composed into an LCEL chain, and the
assistant as a Runnable traced by a callback handler that records each step."""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.prompts import PromptTemplate
from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough
from langchain_tests.integration_tests import (
    EmbeddingsIntegrationTests,
    RetrieversIntegrationTests,
)

import ingest
from rag import registry
from rag.backends.onnx_int8 import OnnxInt8Embeddings
from rag.backends.sentence_transformers import SentenceTransformerEmbeddings
from rag.chain import AnswerChain
from rag.pipeline import Assistant
from rag.records import Answer
from rag.retriever import ArticleRetriever
from rag.settings import Settings
from tests.conftest import SEED
from tests.fakes import HashEmbedder, ScriptedLLM

QUESTION = "How much does SoftBank pay OpenAI?"
ANSWER = "$3 billion (£2.4bn)"


def format_docs(docs: list[Document]) -> str:
    return "\n".join(f"[{i}] {d.page_content}" for i, d in enumerate(docs, 1))


class Recorder(BaseCallbackHandler):
    """Records every step LangChain reports: (event, name or text, run id, parent, tags)."""

    def __init__(self):
        self.events: list[tuple] = []

    def _add(self, event, what, run_id, parent_run_id, tags=None):
        self.events.append((event, what, run_id, parent_run_id, tuple(tags or ())))

    def on_chain_start(self, serialized, inputs, *, run_id, parent_run_id=None, tags=None, **kw):
        self._add("chain_start", kw.get("name"), run_id, parent_run_id, tags)

    def on_chain_end(self, outputs, *, run_id, parent_run_id=None, **kw):
        self._add("chain_end", outputs, run_id, parent_run_id)

    def on_retriever_start(self, serialized, query, *, run_id, parent_run_id=None, tags=None, **kw):
        self._add("retriever_start", query, run_id, parent_run_id, tags)

    def on_retriever_end(self, documents, *, run_id, parent_run_id=None, **kw):
        self._add("retriever_end", documents, run_id, parent_run_id)

    def on_llm_start(self, serialized, prompts, *, run_id, parent_run_id=None, tags=None, **kw):
        self._add("llm_start", prompts[0], run_id, parent_run_id, tags)

    def on_llm_new_token(self, token, *, run_id, parent_run_id=None, **kw):
        self._add("llm_token", token, run_id, parent_run_id)

    def on_llm_end(self, response, *, run_id, parent_run_id=None, **kw):
        self._add("llm_end", response.generations[0][0].text, run_id, parent_run_id)

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events if e[0] != "llm_token"]

    def first(self, kind: str) -> tuple:
        return next(e for e in self.events if e[0] == kind)


def check_traced_answer(recorder: Recorder, answer: Answer, tag: str) -> None:
    """The chain's run holds a retriever run and an LLM run, each with the config's tag."""
    assert recorder.kinds() == [
        "chain_start", "retriever_start", "retriever_end", "llm_start", "llm_end", "chain_end"
    ]  # fmt: skip
    chain = recorder.first("chain_start")
    assert chain[1] == "AnswerChain" and chain[3] is None and tag in chain[4]
    for kind in ("retriever_start", "llm_start"):
        step = recorder.first(kind)
        assert step[3] == chain[2] and tag in step[4], kind  # a child of the chain's run
        assert isinstance(step[2], UUID) and step[2] != chain[2]
    assert recorder.first("retriever_start")[1] == answer.standalone_question
    documents = recorder.first("retriever_end")[1]
    assert [d.id for d in documents] == [p.chunk.id for p in answer.passages]
    assert all(d.metadata["article_id"] and "score" in d.metadata for d in documents)
    assert answer.citations[0].quote in recorder.first("llm_start")[1]  # the evidence prompt
    tokens = "".join(e[1] for e in recorder.events if e[0] == "llm_token")
    assert tokens == recorder.first("llm_end")[1] and tokens.strip() in answer.text
    assert recorder.first("chain_end")[1] is answer


# ----- with fakes ---------------------------------------------------------------------------
@pytest.fixture
def fake_chain(tmp_path) -> AnswerChain:
    settings = Settings(home=tmp_path / "home", store="memory", min_relevance=0.05)
    embedder = HashEmbedder()
    assert ingest.ingest_paths(SEED, settings=settings, embedder=embedder).ok
    llm = ScriptedLLM(ANSWER)
    return AnswerChain(assistant=Assistant(settings, embedder=embedder, llm=llm))


@pytest.mark.unit
def test_the_chain_invokes_streams_and_batches_sync_and_async(fake_chain):
    answer = fake_chain.invoke(QUESTION)
    assert isinstance(answer, Answer) and answer.text == f"{ANSWER} [1]"
    pieces = list(fake_chain.stream(QUESTION))
    assert "".join(p for p in pieces if isinstance(p, str)) == ANSWER
    assert isinstance(pieces[-1], Answer) and pieces[-1].text == answer.text
    nowhere = {"question": QUESTION, "filters": {"source": "nowhere.org"}}
    batch = fake_chain.batch([QUESTION, nowhere])
    assert [a.text for a in batch] == [answer.text, "No article matches source=nowhere.org."]

    async def run_async():
        streamed = [piece async for piece in fake_chain.astream(QUESTION)]
        return await fake_chain.ainvoke(QUESTION), streamed, await fake_chain.abatch([nowhere])

    invoked, streamed, batched = asyncio.run(run_async())
    assert invoked.text == answer.text and streamed[-1].text == answer.text
    assert "".join(p for p in streamed if isinstance(p, str)) == ANSWER
    assert batched[0].abstained


@pytest.mark.unit
def test_the_chain_takes_history_as_pairs_or_langchain_messages(fake_chain):
    follow_up = "How many people will it hire?"
    for history in (
        [(QUESTION, f"{ANSWER} [1]")],
        [HumanMessage(QUESTION), AIMessage(f"{ANSWER} [1]")],
    ):
        answer = fake_chain.invoke({"question": follow_up, "history": history})
        assert answer.standalone_question == "How many people will SoftBank hire?"
    with pytest.raises(ValueError, match="with 'question'"):
        fake_chain.invoke({"text": QUESTION})


@pytest.mark.unit
def test_a_callback_handler_sees_each_step_with_the_configs_tags(fake_chain):
    recorder = Recorder()
    config = {"callbacks": [recorder], "tags": ["mine"]}
    answer = fake_chain.invoke(QUESTION, config=config)
    check_traced_answer(recorder, answer, "mine")

    streamed = Recorder()
    *_, final = fake_chain.stream(QUESTION, config={"callbacks": [streamed], "tags": ["s"]})
    check_traced_answer(streamed, final, "s")

    async def run_async():
        return [p async for p in fake_chain.astream(QUESTION, {"callbacks": [recorder2]})]

    recorder2 = Recorder()
    *_, final = asyncio.run(run_async())
    assert recorder2.kinds() == streamed.kinds()


@pytest.mark.unit
def test_a_model_writing_free_text_is_traced_too(fake_chain):
    assistant = fake_chain.assistant
    quote = "SoftBank will also pay OpenAI $3 billion (£2.4bn) a year to use OpenAI’s services"
    free = ScriptedLLM(f"{quote} [1]", free_text=True, chat=True)
    chain = AnswerChain(
        assistant=Assistant(assistant.settings, embedder=assistant.embedder, llm=free)
    )
    recorder = Recorder()
    assistant.embedder.queries.clear()
    answer = chain.invoke(QUESTION, config={"callbacks": [recorder], "tags": ["free"]})
    assert not answer.abstained and quote in answer.text
    assert assistant.embedder.queries == [QUESTION]  # embedded once on this path too
    assert recorder.kinds() == [
        "chain_start", "retriever_start", "retriever_end", "llm_start", "llm_end", "chain_end"
    ]  # fmt: skip
    llm = recorder.first("llm_start")
    assert llm[3] == recorder.first("chain_start")[2] and "free" in llm[4]
    assert recorder.first("llm_end")[1] == f"{quote} [1]"


@pytest.mark.unit
def test_nothing_is_traced_outside_a_langchain_run(fake_chain, monkeypatch):
    from langchain_core.callbacks import CallbackManager

    calls = []
    monkeypatch.setattr(CallbackManager, "configure", lambda *a, **k: calls.append(a))
    assert not fake_chain.assistant.answer(QUESTION).abstained
    assert calls == []


@pytest.mark.unit
def test_our_retriever_in_an_lcel_chain_with_another_model(fake_chain):
    """retriever | format | prompt | model: the model sees our passages in its prompt."""
    assistant = fake_chain.assistant
    retriever = ArticleRetriever(store=assistant.store, embedder=assistant.embedder, k=2)
    seen = []
    model = RunnableLambda(lambda prompt: seen.append(prompt.to_string()) or "a reply")
    prompt = PromptTemplate.from_template("Context:\n{context}\n\nQuestion: {question}\nAnswer:")
    chain = {"context": retriever | format_docs, "question": RunnablePassthrough()} | prompt | model
    recorder = Recorder()
    assert chain.invoke(QUESTION, config={"callbacks": [recorder]}) == "a reply"
    [text] = seen
    assert text.endswith(f"Question: {QUESTION}\nAnswer:")
    assert "[1] " in text and "$3 billion (£2.4bn)" in text and "[3] " not in text
    assert "retriever_start" in recorder.kinds()


@pytest.mark.unit
def test_our_chain_inside_someone_elses(fake_chain):
    theirs = RunnableParallel(
        answer=fake_chain | RunnableLambda(lambda a: a.text),
        quote=fake_chain | RunnableLambda(lambda a: a.citations[0].quote),
        question=RunnablePassthrough(),
    )
    out = theirs.invoke(QUESTION)
    assert out["answer"] == f"{ANSWER} [1]" and "$3 billion (£2.4bn) a year" in out["quote"]
    assert out["question"] == QUESTION
    *_, last = (fake_chain | RunnableLambda(lambda a: a.citations[0].title)).stream(QUESTION)
    assert last.startswith("SoftBank, OpenAI")  # a step after the chain receives the Answer


# ----- LangChain's standard suites, against the real embedder and stores ------------------------
@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbeddings:
    return SentenceTransformerEmbeddings()


@pytest.fixture(scope="class")
def indexed(request, tmp_path_factory, minilm):
    """The seed article in a store of the class's kind (``store_kind``), embedded by MiniLM."""
    home = tmp_path_factory.mktemp("standard") / "home"
    settings = Settings(home=home, store=request.cls.store_kind)
    assert ingest.ingest_paths(SEED, settings=settings, embedder=minilm).ok
    request.cls.params = {"store": registry.open_store(settings), "embedder": minilm}


@pytest.mark.integration
@pytest.mark.usefixtures("indexed")
class TestArticleRetrieverOnChroma(RetrieversIntegrationTests):
    store_kind = "chroma"
    params: dict = {}

    @property
    def retriever_constructor(self) -> type[ArticleRetriever]:
        return ArticleRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return self.params

    @property
    def retriever_query_example(self) -> str:
        return QUESTION


@pytest.mark.integration
@pytest.mark.usefixtures("indexed")
class TestArticleRetrieverInMemory(TestArticleRetrieverOnChroma):
    store_kind = "memory"


@pytest.mark.unit
def test_the_langchain_embeddings_are_our_embedders_made_when_asked_for():
    """The backend modules import no LangChain (answering does not need it); their
    ``Embeddings`` classes are made on first use, once, over the same embedders."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        "import sys\n"
        "from rag.backends import onnx_int8, sentence_transformers as st\n"
        "print('langchain_core' in sys.modules)\n"
        "from langchain_core.embeddings import Embeddings\n"
        "for face, plain in ((onnx_int8.OnnxInt8Embeddings, onnx_int8.OnnxInt8Embedder),\n"
        "                    (st.SentenceTransformerEmbeddings, st.SentenceTransformerEmbedder)):\n"
        "    print(issubclass(face, Embeddings), issubclass(face, plain), face.__module__)\n"
        "print(onnx_int8.OnnxInt8Embeddings is onnx_int8.OnnxInt8Embeddings)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "False",
        "True True rag.backends.onnx_int8",
        "True True rag.backends.sentence_transformers",
        "True",
    ]


@pytest.mark.integration
class TestSentenceTransformerEmbeddings(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[SentenceTransformerEmbeddings]:
        return SentenceTransformerEmbeddings


@pytest.mark.integration
class TestOnnxInt8Embeddings(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[OnnxInt8Embeddings]:
        return OnnxInt8Embeddings


# ----- the real assistant -----------------------------------------------------------------------
@pytest.mark.integration
def test_the_real_chain_traced_and_composed(tmp_path):
    """Real MiniLM, Chroma and Gemma: the chain traced step by step, and our retriever feeding
    our generator (a Runnable too) in an LCEL chain."""
    settings = Settings(home=tmp_path / "home")
    assert ingest.ingest(SEED, settings=settings).ok
    chain = AnswerChain.from_settings(settings)
    recorder = Recorder()
    answer = chain.invoke(QUESTION, config={"callbacks": [recorder], "tags": ["real"]})
    assert "$3 billion" in answer.text, answer
    check_traced_answer(recorder, answer, "real")

    retriever = ArticleRetriever.from_settings(settings, k=1)
    prompt = PromptTemplate.from_template("{context}\n\nQuestion: {question}\nAnswer:")
    # any model would do; ours is no Runnable (no LangChain import on the answering path)
    generator = RunnableLambda(registry.load_generator(settings).invoke)
    lcel = {"context": retriever | format_docs, "question": RunnablePassthrough()} | prompt
    assert "$3 billion" in lcel.invoke(QUESTION).to_string()
    reply = (lcel | generator).invoke(QUESTION)
    assert isinstance(reply, str) and "OpenAI" in reply  # free text: not checked, not shown
