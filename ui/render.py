"""Pure helpers that turn answers into safe HTML for the chat (article text is untrusted)."""

from __future__ import annotations

import html
import re
import unicodedata

from rag.records import Answer, Citation

CONTEXT_CHARS = 300
ABSTAIN_LABEL = "Not in the articles"


def highlight(text: str, start: int, end: int, context: int = CONTEXT_CHARS) -> str:
    """Escaped surrounding text with ``text[start:end]`` wrapped in <mark>.

    >>> highlight("ab <c> de", 3, 6, context=2)
    '…b <mark>&lt;c&gt;</mark> d…'
    """
    left = max(0, start - context)
    right = min(len(text), end + context)
    before = ("…" if left > 0 else "") + html.escape(text[left:start])
    after = html.escape(text[end:right]) + ("…" if right < len(text) else "")
    return f"{before}<mark>{html.escape(text[start:end])}</mark>{after}"


def citation_html(c: Citation, article_text: str | None) -> str:
    """One source: title, date, source and quote; expandable to the cited span in context."""
    meta = " · ".join(html.escape(x) for x in (c.date, c.source) if x)
    if article_text is not None and article_text[c.start : c.end] == c.quote:
        context = highlight(article_text, c.start, c.end)
    else:
        context = html.escape(c.quote)
    return (
        f'<details class="rag-source"><summary><b>[{c.number}] {html.escape(c.title)}</b>'
        f" <small>{meta}</small><br><q>{html.escape(c.quote)}</q></summary>"
        f'<div class="rag-context">{context}</div></details>'
    )


def answer_html(answer: Answer, article_texts: dict[str, str | None]) -> str:
    """The whole assistant message: the answer (or a clear abstention), then its sources."""
    if answer.abstained:
        return f'<div class="rag-abstain"><b>{ABSTAIN_LABEL}.</b> {html.escape(answer.text)}</div>'
    parts = [f'<div class="rag-answer">{html.escape(answer.text)}</div>']
    if answer.citations:
        parts.append("<div><b>Sources</b></div>")
        parts += [citation_html(c, article_texts.get(c.article_id)) for c in answer.citations]
    return "\n".join(parts)


def safe_upload_name(name: str, max_len: int = 120) -> str:
    """A file name that cannot leave its folder: no directories, no dots in front.

    >>> safe_upload_name("../../etc/passwd")
    'passwd'
    >>> safe_upload_name("my news (1).HTML")
    'my_news_1.html'
    >>> safe_upload_name("..")
    'upload'
    """
    base = re.split(r"[\\\\/]", name)[-1]
    base = unicodedata.normalize("NFKC", base)
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = re.sub(r"[^\w-]+", "_", stem).strip("._-")[:max_len] or "upload"
    ext = re.sub(r"[^\w]+", "", ext).lower()
    return f"{stem}.{ext}" if ext else stem


def history_pairs(messages: list[dict]) -> list[tuple[str, str]]:
    """(question, answer) pairs from Gradio's message dicts, for follow-up questions.

    >>> history_pairs([{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A"}])
    [('Q?', 'A')]
    """
    pairs: list[tuple[str, str]] = []
    question = None
    for m in messages or []:
        content = m.get("content") if isinstance(m, dict) else None
        if not isinstance(content, str):
            continue
        if m.get("role") == "user":
            question = content
        elif m.get("role") == "assistant" and question is not None:
            pairs.append((question, re.sub(r"<[^>]+>", " ", content)))
            question = None
    return pairs
