"""The chat's HTML: untrusted article text is escaped, cited spans are highlighted exactly."""

import doctest

import pytest

import ui.render
from rag.records import ABSTAIN_TEXT, Answer, Citation, IngestResult
from ui.render import (
    abstention_html,
    answer_html,
    citation_html,
    error_html,
    highlight_context,
    ingest_results_html,
    pending_html,
    streaming_html,
    upload_progress_html,
    user_message,
)

pytestmark = pytest.mark.unit

TEXT = "Intro.\n\nSoftBank will pay <b>$3 billion</b> a year.\n\nOutro."
START = TEXT.index("SoftBank")
END = TEXT.index("\n\nOutro")
CITE = Citation(
    1, 'Title <script>alert("t")</script>', "/a.txt", "art", "chunk", START, END,
    TEXT[START:END], 0.8, date="2025-02-03",
)  # fmt: skip


def test_docstring_examples():
    assert doctest.testmod(ui.render).failed == 0


def test_article_text_title_and_quote_are_escaped():
    out = citation_html(CITE, TEXT)
    assert "<script>" not in out and "<b>$3" not in out
    assert "&lt;script&gt;" in out and "&lt;b&gt;$3 billion&lt;/b&gt;" in out


def test_the_cited_span_is_highlighted_in_its_context():
    out = citation_html(CITE, TEXT)
    assert "Intro.<br><mark>SoftBank will pay &lt;b&gt;$3 billion&lt;/b&gt; a year.</mark>" in out
    assert "<br>Outro.</div></details>" in out
    assert "characters 8–51" in out and "2025-02-03" in out


def test_highlight_marks_exactly_the_offsets():
    text = "x " * 250 + "QUOTE" + " y" * 250
    out = highlight_context(text, 500, 505, context=10)
    assert out == "…" + "x " * 5 + "<mark>QUOTE</mark>" + " y" * 5 + "…"
    # a cut through a word moves to the word's edge
    assert highlight_context("aaaa bbbb QUOTE cccc dddd", 10, 15, context=7) == (
        "…bbbb <mark>QUOTE</mark> cccc…"
    )


def test_highlight_clamps_bad_offsets():
    assert highlight_context("abc", -5, 99) == "<mark>abc</mark>"
    assert highlight_context("abc", 2, 1) == "a<mark>b</mark>c"


def test_a_changed_article_falls_back_to_the_quote_or_no_context():
    moved = "New intro. " + TEXT
    assert "<mark>SoftBank will pay" in citation_html(CITE, moved)
    out = citation_html(CITE, "a different article")
    assert "<details" not in out and "<blockquote" in out
    assert "<details" not in citation_html(CITE, None)


def test_sources_link_only_to_web_addresses():
    web = Citation(1, "T", "https://example.com/x?a=1&b=<2>", "a", "c", 0, 1, "q", 1.0)
    assert 'href="https://example.com/x?a=1&amp;b=&lt;2&gt;"' in citation_html(web)
    evil = Citation(1, "T", 'javascript:alert("x")', "a", "c", 0, 1, "q", 1.0)
    assert "href" not in citation_html(evil)


def test_no_html_made_here_contains_a_newline():
    """A blank line would end the Markdown HTML block and show the rest as raw text."""
    answer = Answer("q", "$3 billion\n\n[1]", citations=[CITE])
    fragments = [
        answer_html(answer, {"art": TEXT}),
        abstention_html(),
        error_html("bad\n\nthing"),
        pending_html(),
        streaming_html("a\n\nb"),
        user_message("line one\n\nline two")["content"],
        ingest_results_html([("a\nb.txt", IngestResult("a", "failed", error="x\n\ny"))]),
    ]
    assert all("\n" not in f for f in fragments)


def test_abstention_is_distinct_from_an_answer():
    abstain = answer_html(Answer("q", ABSTAIN_TEXT, abstained=True))
    answer = answer_html(Answer("q", "$3 billion [1]", citations=[CITE]), {"art": TEXT})
    assert "Not in the articles" in abstain and "rag-abstain" in abstain
    assert "rag-source" not in abstain
    assert "Not in the articles" not in answer and "rag-abstain" not in answer
    assert '<sup class="rag-ref">[1]</sup>' in answer and "rag-source" in answer


def test_answer_text_is_escaped():
    out = answer_html(Answer("q", '<img src=x onerror="alert(1)"> [1]', citations=[CITE]))
    assert "<img" not in out and "&lt;img" in out


def test_upload_progress_names_the_file_and_counts_chunks():
    from ui.background import UploadJob

    job = UploadJob(1, ["a <b>.txt", "c.md"], stored=[("a <b>.txt", None), ("c.md", None)])
    assert "Waiting for the upload before it" in upload_progress_html(job)
    job.state, job.current, job.chunks_embedded = "running", "a <b>.txt", 1234
    out = upload_progress_html(job)
    assert '<progress max="2" value="0">' in out and "a &lt;b&gt;.txt (1 of 2)" in out
    assert "1,234 chunks embedded" in out and "\n" not in out


def test_ingest_results_show_status_and_reason():
    out = ingest_results_html(
        [
            ("a.txt", IngestResult("/u/a.txt", "added", 3, "A <title>")),
            ("b.md", IngestResult("/u/b.md", "unchanged", 2, "B")),
            ("c.pdf", IngestResult("/u/c.pdf", "failed", error="c.pdf: no text <layer>")),
        ],
        summary="3 file(s)",
    )
    assert "rag-added" in out and "3 chunks" in out and "A &lt;title&gt;" in out
    assert "unchanged (already indexed)" in out
    assert "rag-failed" in out and "c.pdf: no text &lt;layer&gt;" in out


def test_an_answer_with_two_claims_shows_two_markers_and_each_source_once():
    from rag.records import Claim, ClaimCheck

    second = Citation(2, "Other", "/b.txt", "art2", "c2", 0, 12, "Second <i>s</i>.", 0.5)
    ok = ClaimCheck(True, reason="verbatim")
    claims = [
        Claim(CITE.quote, (1,), ok),
        Claim("Second <i>s</i>.", (2,), ok),
        Claim("Again the first.", (1,), ok),
    ]
    answer = Answer("q", "…", citations=[CITE, second], claims=claims, shape="explanation")
    out = answer_html(answer, {"art": TEXT})
    assert out.count('class="rag-claim"') == 3
    assert out.count('<sup class="rag-ref">[1]</sup>') == 2
    assert out.count('<sup class="rag-ref">[2]</sup>') == 1
    assert out.count('class="rag-source"') == 2 and "Sources" in out
    assert "Second &lt;i&gt;s&lt;/i&gt;." in out and "<i>s" not in out
    assert 'class="rag-final rag-shape-explanation"' in out


def test_a_factoid_marks_its_short_answer_in_the_quote():
    from rag.records import Claim, ClaimCheck

    claim = Claim("$3 billion", (1,), ClaimCheck(True, reason="verbatim"))
    answer = Answer("q", "$3 billion [1]", citations=[CITE], claims=[claim])
    answer.short_answer = "$3 billion"
    out = answer_html(answer, {"art": TEXT})
    assert '&lt;b&gt;<mark class="rag-short">$3 billion</mark>&lt;/b&gt;' in out


def test_a_claim_that_failed_its_check_is_marked_unsupported():
    from rag.records import Claim, ClaimCheck

    claim = Claim("It hires 9,000.", (1,), ClaimCheck(False, 0.5, ("9,000",), "9,000 not found"))
    out = answer_html(Answer("q", "It hires 9,000. [1]", citations=[CITE], claims=[claim]))
    assert "rag-unsupported" in out and "9,000 not found" in out
