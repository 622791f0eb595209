"""Pure HTML rendering for the chat: answers, citations, abstentions, index stats, uploads.

Article text, titles and sources are untrusted (anyone can write an article), so every piece
of them is HTML-escaped here. The chat renders messages as Markdown, where a blank line would
end an HTML block; so the HTML made here never contains a newline.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import PurePath

from rag.records import ABSTAIN_TEXT, Answer, Citation, Claim, IngestResult
from rag.text import plural

CONTEXT_CHARS = 320
ABSTAIN_LABEL = "Not in the articles"
_NEWLINES = re.compile(r"\s*\n\s*")
_MARKER = re.compile(r"\[(\d{1,2})\]")


def escape(text: object) -> str:
    """HTML-escape text and turn line breaks into ``<br>`` (output has no newline).

    >>> escape('<img src=x onerror="alert(1)">\\n\\nnext')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;<br>next'
    """
    return _NEWLINES.sub("<br>", html.escape(str(text), quote=True))


# ----- citations ----------------------------------------------------------------------------
def locate_quote(text: str | None, citation: Citation) -> tuple[int, int] | None:
    """Where the cited quote is in the article text: its offsets if they still match, else
    the first occurrence of the quote, else None (the article changed or is gone).

    >>> c = Citation(1, "T", "s", "a", "c", start=4, end=7, quote="cat", score=1.0)
    >>> locate_quote("the cat sat", c)
    (4, 7)
    >>> locate_quote("a cat", c)
    (2, 5)
    >>> locate_quote("a dog", c) is None
    True
    """
    if not text or not citation.quote:
        return None
    start, end = citation.start, citation.end
    if 0 <= start < end <= len(text) and text[start:end] == citation.quote:
        return start, end
    found = text.find(citation.quote)
    return (found, found + len(citation.quote)) if found >= 0 else None


def highlight_context(text: str, start: int, end: int, context: int = CONTEXT_CHARS) -> str:
    """Escaped text around ``text[start:end]`` with that span in ``<mark>``; cut at word
    boundaries, with an ellipsis where the article goes on.

    >>> highlight_context("Alpha beta <gamma> delta epsilon", 11, 18, context=6)
    '…beta <mark>&lt;gamma&gt;</mark> delta…'
    >>> highlight_context("short", 0, 5)
    '<mark>short</mark>'
    """
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    start, end = min(start, end), max(start, end)
    left = max(0, start - context)
    right = min(len(text), end + context)
    if left > 0 and not text[left - 1].isspace():  # begin at the next whole word
        space = text.find(" ", left, start)
        left = space + 1 if space >= 0 else left
    if right < len(text) and not text[right].isspace():  # end after the last whole word
        space = text.rfind(" ", end, right)
        right = space if space >= 0 else right
    before, span, after = text[left:start], text[start:end], text[end:right]
    return (
        ("…" if left > 0 else "")
        + escape(before)
        + f"<mark>{escape(span)}</mark>"
        + escape(after)
        + ("…" if right < len(text) else "")
    )


def source_html(source: str) -> str:
    """A web source as a link (http/https only), a file as its path.

    >>> source_html("https://example.com/a?b=1&c=2")
    '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">https://example.com/a?b=1&amp;c=2</a>'
    >>> source_html("javascript:alert(1)")
    '<span class="rag-path">javascript:alert(1)</span>'
    """
    if re.match(r"https?://", source, re.IGNORECASE):
        url = escape(source)
        return f'<a href="{url}" target="_blank" rel="noopener noreferrer">{url}</a>'
    return f'<span class="rag-path">{escape(source)}</span>'


def quote_html(quote: str, short_answer: str | None = None) -> str:
    """The quoted sentence, escaped, with a factoid's short answer marked in it.

    >>> quote_html("SoftBank will pay <b>$3 billion</b> a year.", "$3 billion")
    'SoftBank will pay &lt;b&gt;<mark class="rag-short">$3 billion</mark>&lt;/b&gt; a year.'
    >>> quote_html("No match here.", "Tokyo")
    'No match here.'
    """
    at = quote.find(short_answer) if short_answer else -1
    if at < 0:
        return escape(quote)
    end = at + len(short_answer)
    marked = f'<mark class="rag-short">{escape(quote[at:end])}</mark>'
    return escape(quote[:at]) + marked + escape(quote[end:])


def citation_html(
    citation: Citation, article_text: str | None = None, short_answer: str | None = None
) -> str:
    """One numbered source: title, date, source, the quoted sentence (a factoid's short
    answer marked in it), and (if the article text is known) an expandable view of the
    surrounding text with the cited sentence highlighted."""
    c = citation
    date = f'<span class="rag-date">{escape(c.date)}</span>' if c.date else ""
    parts = [
        f'<div class="rag-source" data-number="{int(c.number)}">',
        '<div class="rag-source-head">',
        f'<span class="rag-num">{int(c.number)}</span>',
        f'<span class="rag-title">{escape(c.title or "Untitled")}</span>{date}',
        "</div>",
        f'<div class="rag-source-path">{source_html(c.source)}</div>',
        f'<blockquote class="rag-quote">{quote_html(c.quote, short_answer)}</blockquote>',
    ]
    span = locate_quote(article_text, c)
    if article_text and span:
        parts.append(
            '<details class="rag-context"><summary>Show in the article '
            f"(characters {span[0]}–{span[1]})</summary>"
            f'<div class="rag-context-text">{highlight_context(article_text, *span)}</div>'
            "</details>"
        )
    parts.append("</div>")
    return "".join(parts)


# ----- messages -----------------------------------------------------------------------------
def answer_text_html(text: str) -> str:
    """Escaped answer text with its ``[n]`` markers as superscript references.

    >>> answer_text_html("$3 billion <b> [1]")
    '$3 billion &lt;b&gt; <sup class="rag-ref">[1]</sup>'
    """
    return _MARKER.sub(r'<sup class="rag-ref">[\1]</sup>', escape(text))


def claim_html(claim: Claim) -> str:
    """One claim of an answer and its markers; a claim that failed its check (shown only
    when the settings ask for it) is marked as unsupported.

    >>> from rag.records import ClaimCheck
    >>> claim_html(Claim("It hires <1,000>.", (1, 2), ClaimCheck(True)))  # doctest: +ELLIPSIS
    '<span class="rag-claim">It hires &lt;1,000&gt;. <sup ...>[1]</sup><sup ...>[2]</sup></span>'
    >>> "rag-unsupported" in claim_html(Claim("x", (1,), ClaimCheck(False, reason="no 3bn")))
    True
    """
    refs = "".join(f'<sup class="rag-ref">[{int(n)}]</sup>' for n in claim.citations)
    if claim.check.passed:
        return f'<span class="rag-claim">{escape(claim.text)} {refs}</span>'
    why = escape(claim.check.reason or "not supported by its sources")
    return (
        f'<span class="rag-claim rag-unsupported" title="{why}">{escape(claim.text)} {refs}'
        f'<span class="rag-unsupported-label"> (unsupported: {why})</span></span>'
    )


def claims_html(answer: Answer) -> str:
    """The answer's claims, each with its markers; an answer without claims, its text."""
    if not answer.claims:
        return answer_text_html(answer.text)
    return " ".join(claim_html(c) for c in answer.claims)


def pending_html() -> str:
    return '<div class="rag-pending">Searching the articles…</div>'


def streaming_html(text: str) -> str:
    """The answer so far, while the model is still writing."""
    return f'<div class="rag-answer rag-streaming">{answer_text_html(text)}</div>'


def abstention_html() -> str:
    return (
        '<div class="rag-final rag-abstain" role="note">'
        f'<div class="rag-abstain-label">{ABSTAIN_LABEL}</div>'
        f'<div class="rag-answer">{escape(ABSTAIN_TEXT)}</div>'
        '<div class="rag-hint">No passage in the indexed articles answers this, so nothing '
        "is guessed. Try rephrasing, or upload an article that covers it.</div>"
        "</div>"
    )


def answer_html(answer: Answer, article_texts: dict[str, str | None] | None = None) -> str:
    """The final message: the answer with its numbered sources, or the abstention notice."""
    if answer.abstained:
        if answer.text and answer.text != ABSTAIN_TEXT:  # e.g. "No article matches source=…"
            return (
                f'<div class="rag-final rag-abstain" role="note">{notice_html(answer.text)}</div>'
            )
        return abstention_html()
    texts = article_texts or {}
    shape = re.sub(r"[^a-z-]", "", str(answer.shape))  # a class name (the chat keeps classes)
    parts = [f'<div class="rag-final rag-shape-{shape}">']
    parts.append(f'<div class="rag-answer">{claims_html(answer)}</div>')
    if answer.citations:
        label = "Source" if len(answer.citations) == 1 else "Sources"
        parts.append(f'<div class="rag-sources"><div class="rag-sources-label">{label}</div>')
        parts.extend(
            citation_html(c, texts.get(c.article_id), answer.short_answer) for c in answer.citations
        )
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def error_html(message: str) -> str:
    return (
        '<div class="rag-final rag-error" role="alert">'
        f'<div class="rag-error-label">Could not answer</div>{escape(message)}</div>'
    )


def user_message(question: str) -> dict:
    return {"role": "user", "content": escape(question)}


def assistant_message(fragment: str) -> dict:
    return {"role": "assistant", "content": fragment}


def message_text(content: object) -> str:
    """The text of a chat message's content: a string, a ``{"type": "text"}`` block, or a list
    of them (Gradio 6 hands messages back as lists of blocks).

    >>> message_text([{"type": "text", "text": "Hi"}, {"type": "file", "file": {}}])
    'Hi'
    """
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return content.get("text", "") if isinstance(content.get("text"), str) else ""
    if isinstance(content, list | tuple):
        return "\n".join(t for t in (message_text(c) for c in content) if t)
    return ""


# ----- side panel ---------------------------------------------------------------------------
def stats_html(n_articles: int, n_chunks: int, collection: str = "") -> str:
    """The index summary shown in the side panel.

    >>> "1</b> article" in stats_html(1, 5)
    True
    """
    articles = "article" if n_articles == 1 else "articles"
    chunks = "chunk" if n_chunks == 1 else "chunks"
    where = ""
    if collection:
        where = f'<div class="rag-collection">collection {escape(collection)}</div>'
    return (
        '<div class="rag-stats">'
        f'<div class="rag-stat"><b>{n_articles}</b> {articles}</div>'
        f'<div class="rag-stat"><b>{n_chunks}</b> {chunks}</div>'
        f"{where}</div>"
    )


def article_label(title: str | None, source: str) -> str:
    """How an article is named in the remove list: its title and file name.

    >>> article_label("SoftBank deal", "/data/corpus/softbank.txt")
    'SoftBank deal — softbank.txt'
    """
    name = source if re.match(r"https?://", source) else PurePath(source).name
    return f"{title} — {name}" if title else name


STATUS_TEXT = {
    "added": "added",
    "updated": "updated",
    "unchanged": "unchanged (already indexed)",
    "removed": "removed",
    "failed": "failed",
}


def ingest_results_html(rows: Sequence[tuple[str, IngestResult]], summary: str = "") -> str:
    """One line per uploaded file (or article of a .jsonl file): name, status, chunks, reason."""
    if not rows:
        return ""
    items = []
    for name, result in rows:
        status = result.status if result.status in STATUS_TEXT else "failed"
        detail = ""
        if status == "failed" and result.error:
            detail = f'<div class="rag-reason">{escape(result.error)}</div>'
        elif result.n_chunks:
            detail = f'<span class="rag-chunks">{plural(int(result.n_chunks), "chunk")}</span>'
        title = ""
        if result.title:
            title = f'<div class="rag-upload-title">{escape(result.title)}</div>'
        items.append(
            f'<li class="rag-upload rag-{status}">'
            f'<span class="rag-badge">{STATUS_TEXT[status]}</span>'
            f'<span class="rag-upload-name">{escape(name)}</span>{detail}{title}</li>'
        )
    head = f'<div class="rag-upload-summary">{escape(summary)}</div>' if summary else ""
    return f'<div class="rag-uploads">{head}<ul>{"".join(items)}</ul></div>'


def upload_progress_html(job) -> str:
    """Where a background upload has got to (``job``: a ``background.UploadJob``)."""
    if job.state == "queued":
        return notice_html("Waiting for the upload before it to finish…")
    n = max(1, job.n_files)
    i = min(job.file_index, n)
    name = escape(job.current or "")
    chunks = f"{job.chunks_embedded:,} chunks embedded"
    return (
        '<div class="rag-upload-progress" role="status">'
        f'<progress max="{n}" value="{i}"></progress>'
        f'<div class="rag-progress-text">Indexing {name} ({min(i + 1, n)} of {n}) — {chunks}. '
        "You can keep asking questions meanwhile.</div></div>"
    )


def notice_html(message: str, kind: str = "info") -> str:
    """A short status line in the side panel (kind: info, ok or error)."""
    kind = kind if kind in ("info", "ok", "error") else "info"
    return f'<div class="rag-notice rag-notice-{kind}">{escape(message)}</div>'
