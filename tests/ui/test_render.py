import pytest

from rag.records import Answer, Citation
from ui.cli import parse_auth
from ui.render import answer_html, citation_html, highlight, history_pairs, safe_upload_name

pytestmark = pytest.mark.unit

TEXT = "Intro. SoftBank will pay <b>$3 billion</b> a year. Outro."
START = TEXT.index("SoftBank")
END = TEXT.index(" Outro")
CITE = Citation(1, "Title <script>", "/a.txt", "art", "chunk", START, END, TEXT[START:END], 0.8)


def test_article_text_is_escaped_everywhere():
    out = citation_html(CITE, TEXT)
    assert "<script>" not in out and "<b>$3" not in out
    assert "&lt;b&gt;$3 billion&lt;/b&gt;" in out


def test_the_cited_span_is_highlighted_in_its_context():
    out = citation_html(CITE, TEXT)
    assert (
        "Intro. <mark>SoftBank will pay &lt;b&gt;$3 billion&lt;/b&gt; a year.</mark> Outro." in out
    )


def test_highlight_marks_exactly_the_offsets():
    text = "x" * 500 + "QUOTE" + "y" * 500
    out = highlight(text, 500, 505, context=10)
    assert out == "…" + "x" * 10 + "<mark>QUOTE</mark>" + "y" * 10 + "…"


def test_abstention_is_distinct_from_an_answer():
    abstain = answer_html(Answer("q", "The articles don't say.", abstained=True), {})
    answer = answer_html(Answer("q", "$3 billion [1]", citations=[CITE]), {"art": TEXT})
    assert "Not in the articles" in abstain and "Sources" not in abstain
    assert "Not in the articles" not in answer and "Sources" in answer and "[1]" in answer


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "..\\..\\win.ini", "/abs/path.txt", "..", ".hidden", "a/../../b.md"],
)
def test_upload_names_cannot_escape(name):
    safe = safe_upload_name(name)
    assert "/" not in safe and "\\" not in safe and not safe.startswith(".") and safe


def test_history_pairs_strip_html():
    msgs = [
        {"role": "user", "content": "Q?"},
        {"role": "assistant", "content": '<div class="rag-answer">$3 billion [1]</div>'},
    ]
    assert history_pairs(msgs) == [("Q?", " $3 billion [1] ")]


def test_auth_flag():
    assert parse_auth("ann:pw") == ("ann", "pw")
    with pytest.raises(ValueError, match="USER:PASSWORD"):
        parse_auth("ann")


def test_create_app_builds_without_launching(fake_embedder, scripted_llm, settings):
    from ui.app import create_app

    app = create_app(settings)
    assert app.title == "Ask your articles"


def test_chat_streams_then_shows_the_final_answer(
    fake_embedder, scripted_llm, settings, corpus_copy
):
    import rag
    from ui.app import chat

    rag.ingest(corpus_copy, settings=settings)
    scripted_llm.reply = "$3 billion"
    steps = list(
        chat(
            "How much does SoftBank pay OpenAI?", [], 4, settings.with_overrides(min_relevance=0.0)
        )
    )
    final = steps[-1][0][-1]["content"]
    assert "$3 billion" in final and "<mark>" in final and "Sources" in final
    assert len(steps) >= 3


def test_errors_are_one_readable_line(settings, fake_embedder, scripted_llm):
    from ui.app import chat

    messages, _ = list(chat("x" * 5000, [], 4, settings))[-1]
    assert "Error." in messages[-1]["content"] and "Traceback" not in messages[-1]["content"]
