"""What the UI does, without Gradio: chat, ask, upload, remove, index overview.

Every function here talks to the core only through the Python API (``rag.apps.api``) and
turns failures into one readable line; tracebacks go to the server log only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path

from rag.apps import api
from rag.apps.ui import render, uploads
from rag.core.records import Answer, IngestResult
from rag.core.settings import Settings

log = logging.getLogger("ui")
MAX_TOP_K = 10
Messages = list[dict]
OnProgress = Callable[[int, int, str], None]


def friendly_error(exc: BaseException) -> str:
    """One line for the user; the traceback is logged.

    >>> friendly_error(ValueError("question: empty; ask something about the articles"))
    'question: empty; ask something about the articles'
    >>> friendly_error(KeyError("x"))
    "Unexpected error (KeyError: 'x'); see the server log."
    """
    message = " ".join(str(exc).split())[:400]
    if isinstance(exc, ValueError | FileNotFoundError | RuntimeError | PermissionError):
        return message or type(exc).__name__
    return f"Unexpected error ({type(exc).__name__}: {message}); see the server log."


def clamp_top_k(value: object, default: int) -> int:
    """A top-k from a slider or an API call, within 1..MAX_TOP_K.

    >>> clamp_top_k(None, 4), clamp_top_k("7", 4), clamp_top_k(99, 4), clamp_top_k(0, 4)
    (4, 7, 10, 4)
    """
    try:
        k = int(float(value))  # sliders send floats
    except (TypeError, ValueError):
        return default
    return min(k, MAX_TOP_K) if k >= 1 else default


FILTER_FIELDS = ("source", "since", "until", "author")


def clean_filters(filters: dict | None) -> dict:
    """The filter fields of a form or an API call, blanks dropped, unknown keys refused.

    >>> clean_filters({"source": " bbc.co.uk ", "since": "", "author": None})
    {'source': 'bbc.co.uk'}
    """
    out = {}
    for key, value in (filters or {}).items():
        if key not in FILTER_FIELDS:
            raise ValueError(f"filter {key!r}: unknown; use {', '.join(FILTER_FIELDS)}")
        text = " ".join(str(value or "").split())
        if text:
            out[key] = text
    return out


class Service:
    """The UI's actions over one data directory and collection."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()

    def _settings_for(self, top_k: object) -> Settings:
        return self.settings.with_overrides(top_k=clamp_top_k(top_k, self.settings.top_k))

    # ----- chat ---------------------------------------------------------------------------
    def chat(
        self,
        question: str,
        messages: Messages | None,
        top_k: object = None,
        filters: dict | None = None,
    ) -> Iterator:
        """Stream an answer into the conversation: the question and a pending notice, the
        text as the model writes it, then the final answer with its sources (or the
        abstention notice, or the error). ``filters``: source, since, until, author (blank
        ones are ignored), as ``api.answer``'s keyword arguments."""
        shown = list(messages or [])
        question = " ".join((question or "").split())
        if not question:
            yield shown
            return
        history = render.history_from_messages(shown)
        shown.append(render.user_message(question))
        yield [*shown, render.assistant_message(render.pending_html())]
        streamed = ""
        try:
            final: Answer | None = None
            settings = self._settings_for(top_k)
            for item in api.stream_answer(
                question, history=history or None, settings=settings, **clean_filters(filters)
            ):
                if isinstance(item, Answer):
                    final = item
                elif item:
                    streamed += item
                    yield [*shown, render.assistant_message(render.streaming_html(streamed))]
            if final is None:
                raise RuntimeError("the assistant stopped without an answer")
            fragment = render.answer_html(final, self._article_texts(final))
        except Exception as exc:  # shown as one line, never a stack trace
            log.exception("answering %r failed", question)
            fragment = render.error_html(friendly_error(exc))
        yield [*shown, render.assistant_message(fragment)]

    def _article_texts(self, answer: Answer) -> dict[str, str | None]:
        texts: dict[str, str | None] = {}
        for c in answer.citations:
            if c.article_id not in texts:
                try:
                    texts[c.article_id] = api.article_text(c.article_id, settings=self.settings)
                except Exception:  # the answer still shows, without the surrounding text
                    log.exception("could not read article %s", c.article_id)
                    texts[c.article_id] = None
        return texts

    def ask(
        self,
        question: str,
        top_k: object = None,
        history: list | None = None,
        filters: dict | None = None,
    ) -> dict:
        """The answer as JSON-ready data (for the API endpoint)."""
        pairs = [tuple(turn) for turn in history or [] if isinstance(turn, list | tuple)]
        result = api.answer(
            question,
            history=pairs or None,
            settings=self._settings_for(top_k),
            **clean_filters(filters),
        )
        return {
            "question": result.question,
            "text": result.text,
            "abstained": result.abstained,
            "citations": [asdict(c) for c in result.citations],
            "standalone_question": result.standalone_question,
            "latency_s": result.latency_s,
        }

    # ----- index --------------------------------------------------------------------------
    def overview(self) -> tuple[str, list[tuple[str, str]]]:
        """The side panel's stats HTML and the (label, article id) choices for removal."""
        try:
            st = api.status(self.settings)
        except Exception as exc:
            log.exception("status failed")
            return render.notice_html(f"Index unavailable: {friendly_error(exc)}", "error"), []
        choices = [(render.article_label(a.title, a.source), a.id) for a in st.articles]
        return render.stats_html(st.n_articles, st.n_chunks, st.collection), choices

    def remove(self, article_id: str | None) -> str:
        """Remove one article (by id) and say what happened."""
        if not article_id:
            return render.notice_html("Choose an article to remove first.")
        try:
            removed = api.delete(article_id, settings=self.settings)
        except Exception as exc:
            log.exception("delete %s failed", article_id)
            return render.notice_html(f"Could not remove it: {friendly_error(exc)}", "error")
        if not removed:
            return render.notice_html("That article is no longer in the index.", "error")
        names = ", ".join(info.title or Path(info.source).name for info in removed)
        return render.notice_html(f"Removed: {names}", "ok")

    def upload(self, files: Iterable[str | Path] | None, on_progress: OnProgress | None = None):
        """Store and ingest uploaded files one by one; returns the per-file results HTML."""
        sent = [uploads.Upload(Path(f), Path(f).name) for f in files or []]
        if not sent:
            return render.notice_html("Choose .txt, .md, .html, .pdf or .jsonl files to add.")
        try:
            folder = uploads.uploads_dir(self.settings.home, self.settings.uploads_path)
        except (OSError, ValueError) as exc:
            return render.notice_html(f"Cannot store uploads: {friendly_error(exc)}", "error")
        max_bytes = int(self.settings.max_file_mb * 1_000_000)
        stored, rows = uploads.accept(sent, folder, max_bytes)
        for i, (name, path) in enumerate(stored):
            if on_progress:
                on_progress(i, len(stored), name)
            rows.extend((name, r) for r in self._ingest_one(name, path))
        if on_progress and stored:
            on_progress(len(stored), len(stored), "done")
        counts = {s: sum(r.status == s for _, r in rows) for s in ("added", "updated", "failed")}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing new"
        return render.ingest_results_html(rows, summary=f"{len(sent)} file(s): {summary}")

    def _ingest_one(self, name: str, path: Path) -> list[IngestResult]:
        try:
            results = api.ingest(path, settings=self.settings).results
        except Exception as exc:
            log.exception("ingesting %s failed", path)
            return [IngestResult(name, "failed", error=friendly_error(exc))]
        shown = []
        for r in results:  # name the file as the user knows it, not by its stored path
            error = r.error.replace(str(path), name) if r.error else r.error
            shown.append(IngestResult(r.source, r.status, r.n_chunks, r.title, error))
        return shown or [IngestResult(name, "failed", error="no article found in the file")]
