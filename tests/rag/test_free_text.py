"""A model that writes its own answer (Generator.free_text): numbered passages fitted to its
context, the templates and their override, and only checked claims shown, with citations
to exact sentences. Fakes: a hash embedder, a scripted LLM, a real Chroma in tmp_path; the
server's side (context, tokenizer) through httpx.MockTransport."""

from __future__ import annotations

import json

import httpx
import pytest

from rag.backends.chroma import ChromaStore
from rag.backends.openai_generator import OpenAIGenerator
from rag.free_text import CUT_OFF, build_prompt
from rag.pipeline import Assistant
from rag.prompts import PASSAGES_SYSTEM, Templates, fit, load_templates
from rag.protocols import Generator
from rag.records import ABSTAIN_TEXT, Answer, Article, Chunk, chunk_id_for
from tests.fakes import HashEmbedder, ScriptedLLM

pytestmark = pytest.mark.unit

PARAS = [
    "SoftBank will pay OpenAI $3 billion a year to use its services. "
    "The deal was announced in Tokyo on Monday.",
    "The venture will hire 1,000 people in Japan. Its chief is Ada Brown.",
    "The bakery on Elm Street sells 300 loaves of rye bread every morning.",
]
TEXT = "\n\n".join(PARAS)
FAITHFUL = "SoftBank will pay OpenAI $3 billion a year [1]."
UNFAITHFUL = "OpenAI will pay SoftBank $9 billion a year [1]."


def _index(settings, embedder):
    store = ChromaStore(settings)
    article = Article(source="/a.txt", title="Deal", text=TEXT, date="2025-02-03")
    chunks, start = [], 0
    for i, para in enumerate(PARAS):
        s = TEXT.index(para, start)
        chunks.append(
            Chunk(chunk_id_for(article.hash, s, para), article.id, para, s, s + len(para), i)
        )
        start = s + len(para)
    store.upsert_chunks(article, chunks, embedder.embed_documents(PARAS))
    store.put_article(article, len(chunks))
    return store


@pytest.fixture
def make(settings):
    embedder = HashEmbedder()
    store = _index(settings, embedder)

    def build(reply, **overrides) -> tuple[Assistant, ScriptedLLM]:
        llm = ScriptedLLM(reply, free_text=True, chat=overrides.pop("chat", True))
        s = settings.with_overrides(min_relevance=0.0, **overrides)
        return Assistant(s, embedder=embedder, llm=llm, store=store), llm

    return build


def _stream(assistant, question="How much does SoftBank pay OpenAI?"):
    items = list(assistant.stream_answer(question))
    return "".join(i for i in items if isinstance(i, str)), items[-1]


def test_the_protocol_says_who_writes_free_text():
    assert isinstance(ScriptedLLM(free_text=True), Generator)
    assert OpenAIGenerator("http://127.0.0.1:9/v1", "m").free_text
    assert not OpenAIGenerator("http://127.0.0.1:9/v1", "m", answer="copy").free_text


def test_the_model_sees_numbered_passages_with_title_and_date(make):
    assistant, llm = make(FAITHFUL)
    assistant.answer("How much does SoftBank pay OpenAI?")
    [prompt] = llm.prompts
    assert "[1] Deal (2025-02-03)\n" in prompt and "[3] Deal" in prompt
    assert llm.copy_from == [None] and llm.systems == [PASSAGES_SYSTEM]
    assert llm.cites == [3]  # a server that takes a grammar makes each sentence cite one of 3
    # every sentence carries its passage's marker, so a sentence copied from it is cited
    n = int(prompt.split(" Deal (2025-02-03)\nSoftBank will pay")[0][-2])
    assert (
        f"SoftBank will pay OpenAI $3 billion a year to use its services. [{n}] "
        f"The deal was announced in Tokyo on Monday. [{n}]"
    ) in prompt


def test_the_unfinished_sentence_of_a_reply_cut_off_at_the_token_limit_is_not_shown(make):
    # 9 + 7 pieces: the second sentence stops at "Tokyo", cited and true as far as it goes
    reply = FAITHFUL + " The deal was announced [1] in Tokyo on Monday."
    assistant, _ = make(reply, llm_answer_tokens=16)
    a = assistant.answer("How much does SoftBank pay OpenAI?")
    assert [c.text for c in a.claims] == ["SoftBank will pay OpenAI $3 billion a year."]
    [cut] = a.dropped
    assert cut.text == "The deal was announced in Tokyo" and cut.check.reason == CUT_OFF
    assistant, _ = make(reply)  # with room for the whole reply, both claims are shown
    assert len(assistant.answer("How much does SoftBank pay OpenAI?").claims) == 2


def test_passage_sentences_can_be_left_unnumbered(make, tmp_path):
    path = tmp_path / "prompts.toml"
    path.write_text("number_sentences = false\n")
    assistant, llm = make(FAITHFUL, llm_prompts=path)
    assert not assistant.answer("How much does SoftBank pay OpenAI?").abstained
    assert all(p in llm.prompts[0] for p in PARAS)


def test_only_claims_that_pass_reach_the_user(make):
    assistant, _ = make(f"{FAITHFUL} {UNFAITHFUL} It will hire 1,000 people [2].")
    streamed, a = _stream(assistant)
    assert not a.abstained
    assert [c.text for c in a.claims] == [
        "SoftBank will pay OpenAI $3 billion a year.",
        "It will hire 1,000 people.",
    ]
    assert (
        a.text
        == streamed
        == ("SoftBank will pay OpenAI $3 billion a year. [1] It will hire 1,000 people. [2]")
    )
    assert "9 billion" not in streamed and [c.text for c in a.dropped] == [
        "OpenAI will pay SoftBank $9 billion a year."
    ]
    assert not a.dropped[0].check.passed and a.dropped[0].citations == ()
    for c in a.citations:  # each citation is one exact sentence of the article
        assert TEXT[c.start : c.end] == c.quote and c.date == "2025-02-03"
    assert [c.quote for c in a.citations] == [
        "SoftBank will pay OpenAI $3 billion a year to use its services.",
        "The venture will hire 1,000 people in Japan.",
    ]


def test_a_sentence_cited_twice_is_listed_once(make):
    reply = "SoftBank will pay OpenAI $3 billion [1]. It pays it a year to use its services [1]."
    assistant, _ = make(reply)
    a = assistant.answer("How much does SoftBank pay OpenAI?")
    assert [c.citations for c in a.claims] == [(1,), (1,)] and len(a.citations) == 1


def test_no_passing_claim_abstains(make):
    assistant, _ = make(UNFAITHFUL)
    streamed, a = _stream(assistant)
    assert a.abstained and a.text == streamed == ABSTAIN_TEXT
    assert a.claims == [] and a.citations == [] and len(a.dropped) == 1


def test_the_model_saying_the_articles_dont_say_abstains(make):
    assistant, _ = make("The articles don't say.")
    a = assistant.answer("Who won the match?")
    assert a.abstained and a.dropped == []


def test_an_opener_is_kept_only_before_a_supported_claim(make):
    assistant, _ = make("Yes. SoftBank will pay OpenAI $3 billion a year [1].")
    a = assistant.answer("Does SoftBank pay OpenAI?")
    assert a.text == "Yes. SoftBank will pay OpenAI $3 billion a year. [1]"
    assistant, _ = make("No. SoftBank will pay OpenAI $8 billion a year [1].")
    assert assistant.answer("Does SoftBank pay OpenAI $3 billion?").abstained


def test_marked_unsupported_claims_are_shown_without_citations(make):
    assistant, _ = make(f"{FAITHFUL} {UNFAITHFUL}", unsupported_claims="mark")
    streamed, a = _stream(assistant)
    assert (
        a.text
        == streamed
        == (
            "SoftBank will pay OpenAI $3 billion a year. [1] "
            "OpenAI will pay SoftBank $9 billion a year. (unsupported)"
        )
    )
    assert [c.check.passed for c in a.claims] == [True, False] and len(a.dropped) == 1
    assistant, _ = make(UNFAITHFUL, unsupported_claims="mark")
    assert assistant.answer("How much does SoftBank pay OpenAI?").abstained


def test_a_base_model_completes_worked_examples_and_stops_at_the_next_example(make):
    assistant, llm = make(FAITHFUL + "\n\nPassages:\n[1] x", chat=False)
    a = assistant.answer("How much does SoftBank pay OpenAI?")
    assert llm.systems == [None] and llm.prompts[0].rstrip().endswith("Answer:")
    assert "Question: When was the bridge completed?" in llm.prompts[0]
    assert a.text == "SoftBank will pay OpenAI $3 billion a year. [1]"


# ----- fitting the passages to the context ------------------------------------------------------
def test_fit_keeps_whole_passages_in_order_and_always_the_first():
    assert fit(["a " * 10, "b " * 10, "c " * 10], 25, lambda t: len(t.split())) == 2
    assert fit(["a " * 50], 10, lambda t: len(t.split())) == 1


def test_passages_are_cut_to_the_models_context(make, settings):
    assistant, _ = make(FAITHFUL)
    passages = assistant.retrieve("SoftBank OpenAI bakery", 3)
    small = ScriptedLLM(free_text=True, chat=True, context=10_000)
    s = settings.with_overrides(llm_answer_tokens=300)
    assert len(build_prompt(small, s, "q?", passages).passages) == 3
    frame = small.count_tokens(PASSAGES_SYSTEM) + 300 + 32 + 10
    block = 15
    small.context = frame + block  # room for about one passage
    fitted = build_prompt(small, s, "q?", passages)
    assert len(fitted.passages) == 1 and fitted.passages[0] == passages[0]
    assert PARAS.index(passages[0].chunk.text) >= 0 and "[2]" not in fitted.text


# ----- templates --------------------------------------------------------------------------------
def test_templates_can_be_replaced_by_a_file(make, tmp_path):
    path = tmp_path / "prompts.toml"
    path.write_text(
        'system = "Answer like a pirate, citing [n]."\n'
        'user = "Q: {question}\\nSources:\\n{passages}\\nKeep {braces} as written."\n'
    )
    templates = load_templates(path)
    assert templates.system.startswith("Answer like a pirate")
    assert templates.completion == Templates().completion
    assistant, llm = make(FAITHFUL, llm_prompts=path)
    a = assistant.answer("How much does SoftBank pay OpenAI?")
    assert llm.systems == ["Answer like a pirate, citing [n]."]
    assert llm.prompts[0].startswith("Q: How much does SoftBank pay OpenAI?\nSources:\n[1] Deal")
    assert "Keep {braces} as written." in llm.prompts[0] and not a.abstained


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('tone = "x"', "unknown key 'tone'"),
        ('user = "no placeholders"', "user must contain {passages} and {question}"),
        ("user = [1", "not valid TOML"),
        ('system = ""', "system must be a non-empty string"),
        ('number_sentences = "yes"', "number_sentences must be true or false"),
    ],
)
def test_a_bad_template_file_is_one_line_naming_it(tmp_path, content, message):
    path = tmp_path / "prompts.toml"
    path.write_text(content)
    with pytest.raises(ValueError) as err:
        load_templates(path)
    assert str(err.value).startswith(f"prompt templates {path} (RAG_LLM_PROMPTS): ")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_missing_template_file_is_one_line(tmp_path):
    with pytest.raises(ValueError, match="cannot read it"):
        load_templates(tmp_path / "nope.toml")


# ----- what the server says about itself --------------------------------------------------------
def _server(routes: dict):
    seen = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        key = (request.method, request.url.path)
        if key in routes:
            value = routes[key]
            return httpx.Response(200, json=value(request) if callable(value) else value)
        return httpx.Response(404, json={"detail": "Not Found"})

    return handle, seen


def _gen(routes, **kw):
    handle, seen = _server(routes)
    gen = OpenAIGenerator("http://127.0.0.1:9/v1", "m", transport=httpx.MockTransport(handle), **kw)
    return gen, seen


def test_context_from_llama_cpp_props():
    gen, seen = _gen({("GET", "/props"): {"default_generation_settings": {"n_ctx": 8192}}})
    assert gen.context_window() == 8192 and gen.context_window() == 8192
    assert seen == [("GET", "/props")]  # asked once


def test_context_from_vllm_model_listing():
    gen, _ = _gen({("GET", "/v1/models"): {"data": [{"id": "m", "max_model_len": 32768}]}})
    assert gen.context_window() == 32768


def test_context_from_the_setting_when_the_server_does_not_say():
    gen, _ = _gen({("GET", "/v1/models"): {"data": [{"id": "m"}]}}, context=3000)
    assert gen.context_window() == 3000


def test_tokens_counted_by_the_servers_tokenizer_else_estimated():
    def tokenize(request):
        return {"tokens": list(range(len(json.loads(request.content)["input"].split())))}

    gen, _ = _gen(
        {("GET", "/v1/models"): {"data": [{"id": "m"}]}, ("POST", "/extras/tokenize"): tokenize}
    )
    assert gen.count_tokens("one two three four") == 4
    gen, seen = _gen({("GET", "/v1/models"): {"data": [{"id": "m"}]}})
    assert gen.count_tokens("x" * 300) == 101 and gen.count_tokens("y" * 30) == 11
    assert seen.count(("POST", "/tokenize")) == 1  # not asked again


def test_free_text_requests_carry_no_grammar_and_the_system_prompt():
    bodies = []

    def chat(request):
        bodies.append(json.loads(request.content))
        return {"choices": [{"message": {"content": FAITHFUL}}]}

    gen, _ = _gen(
        {("GET", "/v1/models"): {"data": [{"id": "m"}]}, ("POST", "/v1/chat/completions"): chat},
        api="chat",
    )
    assert gen.complete("Passages: ...", max_tokens=50).text == FAITHFUL
    body = gen._body("Passages: ...", 50, (), None, "S")
    assert body["messages"][0] == {"role": "system", "content": "S"}
    assert "grammar" not in body and body["stop"] == []


def test_answer_record_keeps_the_fields_the_others_use():
    a = Answer(question="q", text="t")
    assert a.claims == [] and a.dropped == [] and a.short_answer is None
