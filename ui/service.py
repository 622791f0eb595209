"""What the UI does, without Gradio: chat, ask, upload, remove, index overview.

Every function here talks to the core through the Python API (``rag.api``; the upload
worker also takes the process's embedder from the registry, to wrap it) and turns failures
into one readable line; tracebacks of unexpected errors go to the server log only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path

from ingest import api as ingest_api
from rag import api, registry
from rag.errors import InputError, RagError
from rag.lexical import FILTER_FIELDS
from rag.records import Answer, IngestResult, answer_from_dict
from rag.settings import Settings
from rag.text import plural
from ui import render, uploads
from ui.background import ThrottledEmbedder, UploadJob, UploadWorker
from ui.chats import ChatStore

log = logging.getLogger("ui")
MAX_TOP_K = 10
MAX_LISTED = 300  # articles listed for removal; others are typed (title, source or URL)
Messages = list[dict]
Turns = list[dict]
MAX_TURNS = 20  # the conversation kept as data; only the latest turns matter for follow-ups
MAX_EXAMPLES = 3  # example questions offered
MAX_EXAMPLE_TITLE = 70


def friendly_error(exc: BaseException) -> str:
    """One line for the user: a ``RagError``'s own message (the user's to fix) or the
    machine's (``OSError``); anything else is a bug, whose traceback is in the server log.

    >>> friendly_error(InputError("question: empty; ask something about the articles"))
    'question: empty; ask something about the articles'
    >>> friendly_error(KeyError("x"))
    "Internal error (KeyError: 'x'), a bug in rag, not your input; see the server log."
    """
    message = " ".join(str(exc).split())[:400]
    if isinstance(exc, RagError | OSError):
        return message or type(exc).__name__
    return (
        f"Internal error ({type(exc).__name__}: {message}), a bug in rag, not your input; "
        "see the server log."
    )


def log_failure(what: str, exc: BaseException) -> None:
    """Log a failure: one line for the user's own error (a ``RagError``, e.g. an empty or
    too long question), the traceback for anything else."""
    if isinstance(exc, RagError):
        log.warning("%s refused: %s", what, friendly_error(exc))
    else:
        log.error("%s failed", what, exc_info=exc)


def make_turn(question: str, answer: Answer) -> dict:
    """One exchange of the conversation as data: the question as asked, and the answer's
    fields (text, abstained, citations, standalone question...) without the retrieved
    passages, which would only bloat the session state.

    >>> make_turn("Who?", Answer("Who?", "Ann [1]"))["answer"]["text"]
    'Ann [1]'
    """
    data = answer.to_dict()
    data.pop("passages", None)
    return {"question": question, "answer": data}


def history_of(turns: Iterable[dict] | None) -> list[tuple[str, str]]:
    """(question, answer text) pairs of the conversation, for resolving follow-ups.

    >>> history_of([make_turn("Who?", Answer("Who?", "Ann [1]")), {"bad": 1}, None])
    [('Who?', 'Ann [1]')]
    """
    pairs = []
    for turn in turns or []:
        if not isinstance(turn, dict) or not isinstance(turn.get("answer"), dict):
            continue
        question, text = turn.get("question"), turn["answer"].get("text")
        if isinstance(question, str) and isinstance(text, str) and question and text:
            pairs.append((question, text))
    return pairs


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


def clean_filters(filters: dict | None) -> dict:
    """The filter fields of a form or an API call, blanks dropped, unknown keys refused.

    >>> clean_filters({"source": " bbc.co.uk ", "since": "", "author": None})
    {'source': 'bbc.co.uk'}
    """
    out = {}
    for key, value in (filters or {}).items():
        if key not in FILTER_FIELDS:
            raise InputError(f"filter {key!r}: unknown; use {', '.join(FILTER_FIELDS)}")
        text = " ".join(str(value or "").split())
        if text:
            out[key] = text
    return out


def example_questions(articles: Iterable, n: int = MAX_EXAMPLES) -> list[str]:
    """Questions to try, made from the titles of the newest articles in the collection.

    >>> from rag.records import ArticleInfo
    >>> a = ArticleInfo("1", "a.txt", "Harbour park opens", "2024-05-01", None, None, "", 3)
    >>> b = ArticleInfo("2", "b.txt", "", None, None, None, "", 1)
    >>> example_questions([b, a])
    ['Summarise “Harbour park opens”.']
    """
    titled = [a for a in articles if (a.title or "").strip()]
    newest = sorted(titled, key=lambda a: a.date or "", reverse=True)
    seen, questions = set(), []
    for info in newest:
        title = " ".join(info.title.split())
        if len(title) > MAX_EXAMPLE_TITLE:
            title = title[: MAX_EXAMPLE_TITLE - 1].rsplit(" ", 1)[0] + "…"
        if title.lower() not in seen:
            seen.add(title.lower())
            questions.append(f"Summarise “{title}”.")
    return questions[:n]


class Service:
    """The UI's actions over one data directory: every collection in it can be chosen per
    request (``collection``; None is the settings' own), and chats are kept per owner."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.worker = UploadWorker(self._run_upload)
        self.chats = ChatStore(self.settings.home / "chats")

    def _settings_for(self, top_k: object = None, collection: str | None = None) -> Settings:
        k = clamp_top_k(top_k, self.settings.top_k)
        return self.settings.with_overrides(top_k=k, collection=self.collection(collection))

    # ----- collections --------------------------------------------------------------------
    def collections(self) -> list[str]:
        """The collections to choose from: those in the data directory, and the default."""
        try:
            found = api.collections(self.settings)
        except Exception as exc:  # the page still works on the default collection
            log_failure("listing collections", exc)
            found = []
        return sorted({*found, self.settings.collection})

    def collection(self, name: object) -> str:
        """``name`` if it is one of ``collections()``, else the default: a client cannot make
        the server create collections by naming them."""
        other = isinstance(name, str) and name and name != self.settings.collection
        return name if other and name in self.collections() else self.settings.collection

    def examples(self, collection: str | None = None) -> list[str]:
        """Questions to try, from the newest articles of the collection."""
        try:
            st = api.status(self._settings_for(None, collection), max_articles=MAX_LISTED)
        except Exception as exc:
            log_failure("listing articles", exc)
            return []
        return example_questions(st.articles)

    # ----- saved chats --------------------------------------------------------------------
    def chat_choices(self, owner: str | None) -> list[tuple[str, str]]:
        """(title, id) of the owner's saved chats, newest first."""
        return [(c.title, c.id) for c in self.chats.list(owner)]

    def save_chat(
        self, owner: str | None, chat_id: str | None, collection: str | None, turns: Turns
    ) -> str | None:
        """Keep the conversation (as data); returns its id (a new one for a new chat)."""
        try:
            chat = self.chats.save(owner, chat_id, self.collection(collection), turns)
        except OSError as exc:  # the answer is shown anyway; only keeping it failed
            log_failure("saving the chat", exc)
            return chat_id
        return chat.id if chat else chat_id

    def open_chat(self, owner: str | None, chat_id: object) -> tuple[Messages, Turns, str] | None:
        """A saved chat as (messages to show, turns, its collection); None if it is gone.
        Answers are rendered afresh from their records."""
        chat = self.chats.load(owner, chat_id)
        if chat is None:
            return None
        collection = self.collection(chat.collection)
        messages: Messages = []
        turns: Turns = []
        for turn in chat.turns:
            if not isinstance(turn, dict) or not isinstance(turn.get("question"), str):
                continue
            try:
                answer = answer_from_dict(turn.get("answer") or {})
            except (TypeError, ValueError, KeyError):  # a record this version cannot read
                continue
            messages.append(render.user_message(turn["question"]))
            texts = self._article_texts(answer, collection)
            messages.append(render.assistant_message(render.answer_html(answer, texts)))
            turns.append(turn)
        return messages, turns, collection

    def delete_chat(self, owner: str | None, chat_id: object) -> bool:
        return self.chats.delete(owner, chat_id)

    # ----- chat ---------------------------------------------------------------------------
    def chat(
        self,
        question: str,
        messages: Messages | None,
        turns: Turns | None = None,
        top_k: object = None,
        filters: dict | None = None,
        collection: str | None = None,
    ) -> Iterator[tuple[Messages, Turns]]:
        """Stream an answer into the conversation: the question and a pending notice, the
        text as the model writes it, then the final answer with its sources (or the
        abstention notice, or the error).

        ``messages`` is what the chat shows (HTML); ``turns`` is the conversation as data
        (see ``make_turn``), which follow-up questions are resolved against. Each step
        yields both; a turn is added only when an answer (or an abstention) is complete.
        ``filters``: source, since, until, author (blank ones are ignored), as
        ``api.answer``'s keyword arguments."""
        shown = list(messages or [])
        turns = list(turns or [])
        question = " ".join((question or "").split())
        if not question:
            yield shown, turns
            return
        shown.append(render.user_message(question))
        yield [*shown, render.assistant_message(render.pending_html())], turns
        streamed = ""
        try:
            final: Answer | None = None
            settings = self._settings_for(top_k, collection)
            history = history_of(turns) or None
            for item in api.stream_answer(
                question, history=history, settings=settings, **clean_filters(filters)
            ):
                if isinstance(item, Answer):
                    final = item
                elif item:
                    streamed += item
                    fragment = render.streaming_html(streamed)
                    yield [*shown, render.assistant_message(fragment)], turns
            if final is None:
                raise RuntimeError("the assistant stopped without an answer")
            fragment = render.answer_html(final, self._article_texts(final, settings.collection))
            turns = [*turns, make_turn(question, final)][-MAX_TURNS:]
        except Exception as exc:  # shown as one line, never a stack trace
            log_failure(f"answering {question[:80]!r}", exc)
            fragment = render.error_html(friendly_error(exc))
        yield [*shown, render.assistant_message(fragment)], turns

    def _article_texts(self, answer: Answer, collection: str | None = None) -> dict:
        texts: dict[str, str | None] = {}
        settings = self._settings_for(None, collection)
        for c in answer.citations:
            if c.article_id not in texts:
                try:
                    texts[c.article_id] = api.article_text(c.article_id, settings=settings)
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
        collection: str | None = None,
    ) -> dict:
        """The answer as JSON-ready data (for the API endpoint)."""
        pairs = [tuple(turn) for turn in history or [] if isinstance(turn, list | tuple)]
        result = api.answer(
            question,
            history=pairs or None,
            settings=self._settings_for(top_k, collection),
            **clean_filters(filters),
        )
        return {
            "question": result.question,
            "text": result.text,
            "abstained": result.abstained,
            "shape": result.shape,
            "short_answer": result.short_answer,
            "claims": [asdict(c) for c in result.claims],
            "citations": [asdict(c) for c in result.citations],
            "standalone_question": result.standalone_question,
            "latency_s": result.latency_s,
        }

    # ----- index --------------------------------------------------------------------------
    def overview(self, collection: str | None = None) -> tuple[str, list[tuple[str, str]]]:
        """The side panel's stats HTML and the (label, article id) choices for removal: at
        most ``MAX_LISTED``, so a large archive costs the same as a small one."""
        try:
            st = api.status(self._settings_for(None, collection), max_articles=MAX_LISTED)
        except Exception as exc:
            log.exception("status failed")
            return render.notice_html(f"Index unavailable: {friendly_error(exc)}", "error"), []
        choices = [(render.article_label(a.title, a.source), a.id) for a in st.articles]
        html = render.stats_html(st.n_articles, st.n_chunks, st.collection)
        if st.n_articles > len(choices):
            html += render.notice_html(
                f"The remove list shows {len(choices):,} of {st.n_articles:,} articles; "
                "type another's exact title, source or URL there."
            )
        return html, choices

    def remove(self, article_id: str | None, collection: str | None = None) -> str:
        """Remove one article (by id) and say what happened."""
        if not article_id:
            return render.notice_html("Choose an article to remove first.")
        try:
            removed = api.delete(article_id, settings=self._settings_for(None, collection))
        except Exception as exc:
            log.exception("delete %s failed", article_id)
            return render.notice_html(f"Could not remove it: {friendly_error(exc)}", "error")
        if not removed:
            return render.notice_html("That article is no longer in the index.", "error")
        names = ", ".join(info.title or Path(info.source).name for info in removed)
        return render.notice_html(f"Removed: {names}", "ok")

    def start_upload(
        self, files: Iterable[object] | None, collection: str | None = None
    ) -> UploadJob:
        """Store the uploaded files and queue them for indexing in the background; returns
        the job at once (poll ``job.done`` / ``upload_progress_html(job)``, or ``job.wait()``).

        ``files`` are paths (the browser's file name is the last part), ``(path, name)``
        pairs, or Gradio file dicts (``{"path": ..., "orig_name": ...}``)."""
        sent = [_as_upload(f) for f in files or []]
        sent = [u for u in sent if u is not None]
        job = self.worker.new_job([u.name for u in sent])
        job.collection = self.collection(collection)
        if not sent:
            job.finish(render.notice_html("Choose .txt, .md, .html, .pdf or .jsonl files to add."))
            return job
        try:
            folder = uploads.uploads_dir(self.settings.home, self.settings.uploads_path)
        except (OSError, ValueError) as exc:
            job.finish(render.notice_html(f"Cannot store uploads: {friendly_error(exc)}", "error"))
            return job
        max_bytes = int(self.settings.max_file_mb * 1_000_000)
        stored, job.rows = uploads.accept(sent, folder, max_bytes)
        job.stored, job.n_sent = stored, len(sent)
        if not stored:
            job.finish(self._results_html(job))
            return job
        try:
            return self.worker.submit(job)
        except RuntimeError as exc:
            job.finish(render.notice_html(friendly_error(exc), "error"))
            return job

    def upload(
        self,
        files: Iterable[object] | None,
        timeout: float | None = None,
        collection: str | None = None,
    ) -> str:
        """Store and index uploaded files, waiting for the result; returns its HTML."""
        job = self.start_upload(files, collection)
        job.wait(timeout)
        return job.html or render.upload_progress_html(job)

    def _run_upload(self, job: UploadJob, stop: threading.Event) -> str:
        """The worker's part: index the stored files one by one."""
        embedder = ThrottledEmbedder(
            registry.load_embedder(self.settings), job, stop, self.settings.upload_threads
        )
        settings = self._settings_for(None, job.collection)
        for i, (name, path) in enumerate(job.stored):
            job.file_index, job.current = i, name
            job.rows.extend((name, r) for r in self._ingest_one(name, path, embedder, settings))
        job.file_index = len(job.stored)
        return self._results_html(job)

    def _results_html(self, job: UploadJob) -> str:
        rows = job.rows
        counts = {s: sum(r.status == s for _, r in rows) for s in ("added", "updated", "failed")}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing new"
        return render.ingest_results_html(rows, summary=f"{plural(job.n_sent, 'file')}: {summary}")

    def close(self) -> None:
        """Stop the background upload worker (the running upload ends part-way)."""
        self.worker.close()

    def _ingest_one(
        self, name: str, path: Path, embedder=None, settings: Settings | None = None
    ) -> list[IngestResult]:
        try:
            settings = settings or self.settings
            results = ingest_api.ingest(path, settings=settings, embedder=embedder).results
        except Exception as exc:
            log.exception("ingesting %s failed", path)
            return [IngestResult(name, "failed", error=friendly_error(exc))]
        shown = []
        for r in results:  # name the file as the user knows it, not by its stored path
            error = r.error.replace(str(path), name) if r.error else r.error
            shown.append(IngestResult(r.source, r.status, r.n_chunks, r.title, error))
        return shown or [IngestResult(name, "failed", error="no article found in the file")]


def _as_upload(item: object) -> uploads.Upload | None:
    """An uploaded file as (where it is, the name the user gave it)."""
    if isinstance(item, dict):  # a Gradio FileData dict (the API)
        path = item.get("path")
        if not isinstance(path, str) or not path:
            return None
        name = item.get("orig_name") or Path(path).name
        return uploads.Upload(Path(path), str(name))
    if isinstance(item, tuple | list) and len(item) == 2:
        return uploads.Upload(Path(item[0]), str(item[1]))
    if isinstance(item, str | Path):
        return uploads.Upload(Path(item), Path(item).name)
    return None
