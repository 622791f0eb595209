"""The browser chat: ``create_app()`` builds the Gradio app, ``launch()`` serves it.

>>> app = create_app(Settings(home="/tmp/rag-demo"))   # doctest: +SKIP
>>> launch(Settings(), host="127.0.0.1", port=7860)      # doctest: +SKIP
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from rag.settings import Settings, resolve
from ui import render, uploads
from ui.login import ClientAddressMiddleware, LoginGuard
from ui.service import FILTER_FIELDS, MAX_TOP_K, Service, friendly_error, log_failure
from ui.style import CSS

log = logging.getLogger("ui")

TITLE = "Ask your articles"
POLL_S = 0.5  # how often the page's upload progress is refreshed
MAX_UPLOAD_WATCHERS = 8  # upload events waiting on the worker at once (they only poll)
EXAMPLES = (
    "How much does SoftBank pay OpenAI?",
    "How many people will SB OpenAI Japan hire?",
    "Who is the founder of SoftBank?",
)


def require_gradio():
    """Import gradio, or fail with one line saying how to install it."""
    try:
        import gradio
    except ImportError:
        raise RuntimeError(
            "the browser UI needs gradio, an optional extra: pip install -e '.[ui]'"
        ) from None
    return gradio


def _header() -> str:
    return (
        '<div class="rag-header"><h1>Ask your articles</h1>'
        "<p>Answers come only from the indexed articles, each with the passage it was taken "
        "from. When the articles don't say, neither does the assistant. Runs offline.</p></div>"
    )


def create_app(settings: Settings | None = None, *, examples=EXAMPLES):
    """Build the Gradio Blocks app (not launched). Serve it with ``launch()``, which also
    applies the style sheet."""
    gr = require_gradio()
    service = Service(resolve(settings))
    settings = service.settings
    stats_html, choices = service.overview()
    max_mb = f"{settings.max_file_mb:g}"

    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=True) as app:
        gr.HTML(_header())
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=420):
                chatbot = gr.Chatbot(
                    elem_id="chat",
                    show_label=False,
                    height=620,
                    latex_delimiters=[],  # "$3 billion ... $15bn" is money, not LaTeX
                    feedback_options=None,
                    buttons=["copy"],
                    placeholder=(
                        "<div class='rag-placeholder'><b>Ask anything about your articles.</b>"
                        "<br>Every answer cites its source; open it to see the passage.</div>"
                    ),
                )
                with gr.Row(elem_id="ask-row"):
                    question = gr.Textbox(
                        elem_id="question",
                        show_label=False,
                        placeholder="Ask a question and press Enter",
                        lines=1,
                        max_lines=4,
                        scale=8,
                        autofocus=True,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80)
                with gr.Row(elem_id="examples"):
                    gr.HTML('<span class="rag-try">Try:</span>')
                    example_buttons = [
                        gr.Button(q, size="sm", variant="secondary", elem_classes="rag-example")
                        for q in examples
                    ]
                    new_chat = gr.Button("New chat", size="sm", elem_id="new-chat")
            with gr.Column(scale=2, min_width=300, elem_id="side"):
                gr.HTML('<h3 class="rag-panel-title">Index</h3>')
                stats = gr.HTML(stats_html, elem_id="stats")
                top_k = gr.Slider(
                    1,
                    MAX_TOP_K,
                    value=min(settings.top_k, MAX_TOP_K),
                    step=1,
                    label="Passages per question (top-k)",
                    elem_id="top-k",
                )
                with gr.Accordion("Filter the articles", open=False, elem_id="filters"):
                    filter_boxes = [
                        gr.Textbox(label="Source or site", placeholder="reuters.com", max_lines=1),
                        gr.Textbox(label="Since", placeholder="YYYY-MM-DD", max_lines=1),
                        gr.Textbox(label="Until", placeholder="YYYY-MM-DD", max_lines=1),
                        gr.Textbox(label="Author", max_lines=1),
                    ]
                with gr.Accordion("Add articles", open=True, elem_id="add"):
                    files = gr.File(
                        file_count="multiple",
                        file_types=list(uploads.ALLOWED_SUFFIXES),
                        label=(
                            f".txt .md .html .pdf .jsonl — up to {uploads.MAX_FILES} files, "
                            f"{max_mb} MB each"
                        ),
                        elem_id="upload",
                        height=140,
                    )
                    upload_result = gr.HTML(elem_id="upload-result")
                with gr.Accordion("Remove an article", open=False, elem_id="remove"):
                    article = gr.Dropdown(
                        choices=choices,
                        value=None,
                        label="Article (or type its title, source or URL)",
                        elem_id="article",
                        interactive=True,
                        allow_custom_value=True,
                    )
                    remove = gr.Button("Remove from index", variant="stop", size="sm")
                    remove_result = gr.HTML(elem_id="remove-result")

        pending = gr.State("")
        turns = gr.State([])  # the conversation as data: [{"question", "answer"}, ...]

        # ----- chat: take the question from the box, then stream the answer ---------------
        def take(text: str):
            return "", text

        def respond(text, messages, conversation, k, source, since, until, author):
            slice_ = dict(zip(FILTER_FIELDS, (source, since, until, author), strict=True))
            yield from service.chat(text, messages, conversation, k, slice_)

        chat_options = dict(
            show_progress="hidden",
            concurrency_id="model",
            concurrency_limit=1,
            api_visibility="private",
        )
        quick = dict(queue=False, api_visibility="private")
        chat_io = ([pending, chatbot, turns, top_k, *filter_boxes], [chatbot, turns])
        for trigger in (question.submit, send.click):
            trigger(take, question, [question, pending], **quick).then(
                respond, *chat_io, **chat_options
            )
        for button, text in zip(example_buttons, examples, strict=True):
            button.click(lambda t=text: t, None, pending, **quick).then(
                respond, *chat_io, **chat_options
            )
        new_chat.click(lambda: ([], []), None, [chatbot, turns], **quick)
        chatbot.clear(lambda: [], None, turns, **quick)

        # ----- side panel ----------------------------------------------------------------
        def refresh():
            html, options = service.overview()
            return html, gr.update(choices=options, value=None)

        def add(paths):
            """Queue the files for the background worker and show its progress; questions
            are answered meanwhile (they have their own slot)."""
            job = service.start_upload(paths)
            while not job.wait(POLL_S):
                yield render.upload_progress_html(job), gr.skip()
            yield job.html, None

        upload_options = dict(concurrency_id="upload", concurrency_limit=MAX_UPLOAD_WATCHERS)
        files.upload(
            add,
            files,
            [upload_result, files],
            api_visibility="private",
            show_progress="hidden",
            **upload_options,
        ).then(refresh, None, [stats, article], api_visibility="private")
        remove.click(
            service.remove,
            article,
            remove_result,
            concurrency_id="model",
            api_visibility="private",
        ).then(refresh, None, [stats, article], api_visibility="private")
        app.load(refresh, None, [stats, article], api_visibility="private")

        # ----- API for gradio_client -------------------------------------------------------
        def ask(
            question: str,
            top_k: int = 0,
            source: str = "",
            since: str = "",
            until: str = "",
            author: str = "",
        ) -> dict:
            """Answer a question from the articles. Returns {"text", "abstained", "shape",
            "short_answer", "claims": [{text, citations, check}], "citations": [{number, title,
            source, article_id, chunk_id, start, end, quote, score, date}],
            "standalone_question", "question", "latency_s"}. top_k 0 = the server's default;
            source (site or source), since/until (YYYY-MM-DD), author: search only that slice."""
            slice_ = {"source": source, "since": since, "until": until, "author": author}
            try:
                return service.ask(question, top_k or None, filters=slice_)
            except Exception as exc:
                log_failure("api ask", exc)  # one line for bad input, else the traceback
                raise gr.Error(friendly_error(exc), print_exception=False) from None

        def upload(files: list[dict]) -> dict:
            """Add articles: files sent with gradio_client.handle_file(path). Indexed in the
            background (questions are answered meanwhile); returns when done: {"results":
            [{name, status, n_chunks, title, error}], "seconds"}."""
            job = service.start_upload(received_files(files))
            job.wait()
            return {
                "results": [
                    {
                        "name": name,
                        "status": r.status,
                        "n_chunks": r.n_chunks,
                        "title": r.title,
                        "error": r.error,
                    }
                    for name, r in job.rows
                ],
                "seconds": round((job.finished or 0) - job.submitted, 3),
            }

        gr.api(ask, api_name="ask", concurrency_id="model", concurrency_limit=1)
        gr.api(upload, api_name="upload", **upload_options)
    app.rag_service = service
    close = app.close

    def close_and_stop_uploads(*args, **kwargs):
        try:
            return close(*args, **kwargs)
        finally:
            service.close()  # the running upload stops at its next embedding batch

    app.close = close_and_stop_uploads
    return app


def received_files(files: object) -> list[tuple[str, str]]:
    """(path, name) of files a client sent to the upload endpoint, which must lie in Gradio's
    upload folder: a client cannot make the server ingest its own files by naming a path."""
    gr = require_gradio()
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()).resolve()
    received = []
    for item in files if isinstance(files, list) else [files]:
        path = item.get("path") if isinstance(item, dict) else None
        if not isinstance(path, str) or not Path(path).resolve().is_relative_to(folder):
            raise gr.Error(
                "files: send each file with gradio_client.handle_file(path)",
                print_exception=False,
            )
        received.append((path, str(item.get("orig_name") or Path(path).name)))
    return received


def theme():
    gr = require_gradio()
    return gr.themes.Soft(primary_hue="indigo", neutral_hue="slate")


def launch(
    settings: Settings | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | list[tuple[str, str]] | None = None,
    *,
    ssl_keyfile: str | None = None,
    ssl_certfile: str | None = None,
    block: bool = True,
    warm_up: bool = True,
    quiet: bool = False,
):
    """Serve the app (binds to ``host``, loopback by default). With ``block=False`` returns
    the running app at once (``app.close()`` stops it). ``warm_up`` loads the models before
    the first visitor arrives. ``auth`` = (user, password), or a list of them, requires a
    login, with lockouts after repeated failures (see ``ui.login``);
    ``ssl_keyfile`` and ``ssl_certfile`` serve HTTPS."""
    from starlette.middleware import Middleware

    require_gradio()
    settings = resolve(settings)
    app = create_app(settings)
    guard = None
    if auth:
        guard = LoginGuard(
            dict(auth) if isinstance(auth, list) else dict([auth]),
            max_failures=settings.login_max_failures,
            lockout_s=settings.login_lockout_s,
        )
    app.login_guard = guard
    if warm_up:
        _warm_up(settings, quiet)
    app.queue(default_concurrency_limit=1)
    app.launch(
        server_name=host,
        server_port=port,
        auth=guard.authenticate if guard else None,  # an async function: Gradio awaits it
        auth_message="Log in to ask your articles." if auth else None,
        app_kwargs={"middleware": [Middleware(ClientAddressMiddleware)]},
        ssl_keyfile=ssl_keyfile,
        ssl_certfile=ssl_certfile,
        ssl_verify=False,  # only Gradio's start-up request to itself, on this machine
        prevent_thread_lock=not block,
        show_error=False,
        quiet=quiet,
        ssr_mode=False,
        max_file_size=f"{settings.max_file_mb:g}mb",
        footer_links=["api"],
        theme=theme(),
        css=CSS,
    )
    return app


def _warm_up(settings: Settings, quiet: bool) -> None:
    """Answer one question so the embedder and the language model are loaded up front."""
    from rag import api, registry

    if not quiet:
        print("loading the models…", file=sys.stderr)
    try:
        if registry.open_store(settings).count_chunks():
            api.answer(EXAMPLES[0], settings=settings)
    except Exception:  # the first question will report it properly
        log.exception("warm-up failed")
