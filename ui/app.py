"""The browser chat: ``create_app()`` builds the Gradio app, ``launch()`` serves it.

>>> app = create_app(Settings(home="/tmp/rag-demo"))   # doctest: +SKIP
>>> launch(Settings(), host="127.0.0.1", port=7860)      # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import time
from pathlib import Path

from rag.errors import Unavailable
from rag.settings import Settings, resolve
from ui import render, uploads
from ui.chats import new_browser_id, owner_of
from ui.login import ClientAddressMiddleware, LoginGuard
from ui.service import (
    FILTER_FIELDS,
    MAX_EXAMPLES,
    MAX_TOP_K,
    Service,
    friendly_error,
    log_failure,
)
from ui.style import CSS

log = logging.getLogger("ui")

TITLE = "Ask your articles"
POLL_S = 0.5  # how often the page's upload progress is refreshed
MAX_UPLOAD_WATCHERS = 8  # upload events waiting on the worker at once (they only poll)
WARM_UP_QUESTION = "What happened?"  # any question loads both models
BROWSER_KEY = "rag-chat"  # the browser's localStorage entry: its id, open chat, collection


def require_gradio():
    """Import gradio, or fail with one line saying how to install it."""
    try:
        import gradio
    except ImportError:
        raise Unavailable(
            "the browser UI needs gradio, an optional extra: pip install -e '.[ui]'"
        ) from None
    return gradio


def _header() -> str:
    return (
        '<div class="rag-header"><h1>Ask your articles</h1>'
        "<p>Answers come only from the indexed articles, each with the passage it was taken "
        "from. When the articles don't say, neither does the assistant. Runs offline.</p></div>"
    )


def browser_secret(home: Path) -> str:
    """The key that seals what the page keeps in the browser (its id, the open chat). Made
    once under ``home/ui/`` (readable by this user only), so it outlives a restart: a
    fresh key per start would make every browser a stranger after it."""
    path = home / "ui" / "browser-secret"
    try:
        secret = path.read_text(encoding="ascii").strip()
        if len(secret) >= 32:
            return secret
    except (OSError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secret)
    os.replace(tmp, path)
    return path.read_text(encoding="ascii").strip()  # another process may have won


def session_of(saved: object) -> dict:
    """What the browser keeps, checked: ``{"browser": id, "chat": id or None, "collection":
    name or None}``, with a new random browser id when it had none (or a bad one).

    >>> s = session_of(None); sorted(s), len(s["browser"])
    (['browser', 'chat', 'collection'], 32)
    >>> session_of({"browser": s["browser"], "chat": "x"})["browser"] == s["browser"]
    True
    """
    saved = saved if isinstance(saved, dict) else {}
    browser = saved.get("browser")
    if owner_of(None, browser) is None:
        browser = new_browser_id()
    chat, collection = saved.get("chat"), saved.get("collection")
    return {
        "browser": browser,
        "chat": chat if isinstance(chat, str) else None,
        "collection": collection if isinstance(collection, str) else None,
    }


def create_app(settings: Settings | None = None):
    """Build the Gradio Blocks app (not launched). Serve it with ``launch()``, which also
    applies the style sheet."""
    gr = require_gradio()
    service = Service(resolve(settings))
    settings = service.settings
    max_mb = f"{settings.max_file_mb:g}"

    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=True) as app:
        gr.HTML(_header())
        browser = gr.BrowserState(
            None, storage_key=BROWSER_KEY, secret=browser_secret(settings.home)
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=220, elem_id="chats-panel"):
                new_chat = gr.Button("+ New chat", variant="primary", elem_id="new-chat")
                chats = gr.Radio(
                    choices=[],
                    value=None,
                    label="Your chats",
                    elem_id="chats",
                    interactive=True,
                )
                delete_chat = gr.Button(
                    "Delete this chat", size="sm", variant="secondary", elem_id="delete-chat"
                )
            with gr.Column(scale=4, min_width=420):
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
                    try_label = gr.HTML('<span class="rag-try">Try:</span>', visible=False)
                    example_buttons = [
                        gr.Button(
                            "",
                            size="sm",
                            variant="secondary",
                            elem_classes="rag-example",
                            visible=False,
                        )
                        for _ in range(MAX_EXAMPLES)
                    ]
            with gr.Column(scale=2, min_width=300, elem_id="side"):
                gr.HTML('<h3 class="rag-panel-title">Index</h3>')
                collection_box = gr.Dropdown(
                    choices=[settings.collection],
                    value=settings.collection,
                    label="Collection",
                    elem_id="collection",
                    interactive=True,
                )
                stats = gr.HTML(elem_id="stats")
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
                        choices=[],
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
        chat_id = gr.State(None)  # the saved chat this conversation is (None: not saved yet)
        collection = gr.State(settings.collection)

        # ----- what depends on the collection, and on whose chats these are ------------------
        def owner(saved: dict, request) -> str | None:
            return owner_of(getattr(request, "username", None), saved["browser"])

        def side(name: str) -> list:
            """[collection, its chooser, stats, remove list, "Try:", example buttons]."""
            html, options = service.overview(name)
            questions = service.examples(name)
            buttons = [
                gr.update(value=q, visible=True) if q else gr.update(value="", visible=False)
                for q in [*questions, *[""] * MAX_EXAMPLES][:MAX_EXAMPLES]
            ]
            return [
                name,
                gr.update(choices=service.collections(), value=name),
                html,
                gr.update(choices=options, value=None),
                gr.update(visible=bool(questions)),
                *buttons,
            ]

        def chat_list(who: str | None, selected: str | None):
            return gr.update(choices=service.chat_choices(who), value=selected)

        def with_request(fn):
            """Gradio passes the request (its logged-in user) to a parameter annotated
            ``gr.Request``; this module's annotations are strings, so set it as a type."""
            fn.__annotations__["request"] = gr.Request
            return fn

        side_outputs = [collection, collection_box, stats, article, try_label, *example_buttons]
        chat_outputs = [chatbot, turns, chat_id]

        @with_request
        def start(saved, request: gr.Request):
            """A page (re)loads: its browser id, the chat it had open, and that chat's
            collection."""
            saved = session_of(saved)
            who = owner(saved, request)
            name = service.collection(saved["collection"])
            opened = service.open_chat(who, saved["chat"]) if saved["chat"] else None
            messages, conversation, current = [], [], None
            if opened is not None:
                messages, conversation, name = opened
                current = saved["chat"]
            saved.update(chat=current, collection=name)
            return (
                saved,
                messages,
                conversation,
                current,
                chat_list(who, current),
                *side(name),
            )

        # ----- chat: take the question from the box, then stream the answer ---------------
        def take(text: str):
            return "", text

        @with_request
        def respond(
            text,
            messages,
            conversation,
            current,
            name,
            saved,
            k,
            source,
            since,
            until,
            author,
            request: gr.Request,
        ):
            saved = session_of(saved)
            slice_ = dict(zip(FILTER_FIELDS, (source, since, until, author), strict=True))
            before = len(conversation or [])
            shown, now = messages, conversation
            for shown, now in service.chat(text, messages, conversation, k, slice_, name):
                yield shown, now, gr.skip(), gr.skip(), gr.skip()
            if len(now or []) <= before:
                return  # nothing new to keep (an error, an empty question)
            who = owner(saved, request)
            current = service.save_chat(who, current, name, now)
            saved.update(chat=current, collection=name)
            yield shown, now, current, chat_list(who, current), saved

        chat_options = dict(
            show_progress="hidden",
            concurrency_id="model",
            concurrency_limit=1,
            api_visibility="private",
        )
        quick = dict(queue=False, api_visibility="private")
        chat_io = (
            [pending, chatbot, turns, chat_id, collection, browser, top_k, *filter_boxes],
            [*chat_outputs, chats, browser],
        )
        for trigger in (question.submit, send.click):
            trigger(take, question, [question, pending], **quick).then(
                respond, *chat_io, **chat_options
            )
        for button in example_buttons:
            button.click(lambda label: label, button, pending, **quick).then(
                respond, *chat_io, **chat_options
            )
        chatbot.clear(lambda: [], None, turns, **quick)

        # ----- saved chats ------------------------------------------------------------------
        def start_new(saved):
            saved = {**session_of(saved), "chat": None}
            return [], [], None, gr.update(value=None), saved

        @with_request
        def reopen(selected, saved, request: gr.Request):
            saved = session_of(saved)
            who = owner(saved, request)
            opened = service.open_chat(who, selected)
            if opened is None:  # deleted meanwhile (another tab)
                return [], [], None, chat_list(who, None), saved, *side(saved["collection"] or "")
            messages, conversation, name = opened
            saved.update(chat=selected, collection=name)
            return messages, conversation, selected, gr.skip(), saved, *side(name)

        @with_request
        def remove_chat(current, saved, request: gr.Request):
            saved = session_of(saved)
            who = owner(saved, request)
            if current:
                service.delete_chat(who, current)
            saved["chat"] = None
            return [], [], None, chat_list(who, None), saved

        @with_request
        def switch(name, saved, request: gr.Request):
            """Another collection: a new chat over it, and its side panel."""
            saved = session_of(saved)
            name = service.collection(name)
            saved.update(chat=None, collection=name)
            return [], [], None, gr.update(value=None), saved, *side(name)

        new_chat.click(start_new, browser, [*chat_outputs, chats, browser], **quick)
        chats.input(
            reopen, [chats, browser], [*chat_outputs, chats, browser, *side_outputs], **quick
        )
        delete_chat.click(remove_chat, [chat_id, browser], [*chat_outputs, chats, browser], **quick)
        collection_box.input(
            switch,
            [collection_box, browser],
            [*chat_outputs, chats, browser, *side_outputs],
            **quick,
        )
        app.load(
            start,
            browser,
            [browser, *chat_outputs, chats, *side_outputs],
            api_visibility="private",
        )

        # ----- side panel ----------------------------------------------------------------
        def refresh(name):
            return side(name)

        def add(paths, name):
            """Queue the files for the background worker and show its progress; questions
            are answered meanwhile (they have their own slot)."""
            job = service.start_upload(paths, name)
            while not job.wait(POLL_S):
                yield render.upload_progress_html(job), gr.skip()
            yield job.html, None

        upload_options = dict(concurrency_id="upload", concurrency_limit=MAX_UPLOAD_WATCHERS)
        files.upload(
            add,
            [files, collection],
            [upload_result, files],
            api_visibility="private",
            show_progress="hidden",
            **upload_options,
        ).then(refresh, collection, side_outputs, api_visibility="private")
        remove.click(
            service.remove,
            [article, collection],
            remove_result,
            concurrency_id="model",
            api_visibility="private",
        ).then(refresh, collection, side_outputs, api_visibility="private")

        # ----- API for gradio_client -------------------------------------------------------
        def ask(
            question: str,
            top_k: int = 0,
            source: str = "",
            since: str = "",
            until: str = "",
            author: str = "",
            collection: str = "",
        ) -> dict:
            """Answer a question from the articles. Returns {"text", "abstained", "shape",
            "short_answer", "claims": [{text, citations, check}], "citations": [{number, title,
            source, article_id, chunk_id, start, end, quote, score, date}],
            "standalone_question", "question", "latency_s"}. top_k 0 = the server's default;
            source (site or source), since/until (YYYY-MM-DD), author: search only that slice;
            collection: one of the data directory's collections (default: the server's)."""
            slice_ = {"source": source, "since": since, "until": until, "author": author}
            try:
                return service.ask(question, top_k or None, filters=slice_, collection=collection)
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
        prevent_thread_lock=True,
        show_error=False,
        quiet=True,  # its "set share=True" advice does not apply to an offline tool
        ssr_mode=False,
        max_file_size=f"{settings.max_file_mb:g}mb",
        footer_links=["api"],
        theme=theme(),
        css=CSS,
    )
    if not quiet:
        scheme = "https" if ssl_keyfile else "http"
        shown = f"[{host}]" if ":" in host else host
        print(f"serving on {scheme}://{shown}:{port}/ (Ctrl+C stops it)", file=sys.stderr)
    if block:
        try:
            while app.is_running:
                time.sleep(0.2)
        finally:  # Ctrl+C: the rag command says "interrupted"
            app.close()
    return app


def _warm_up(settings: Settings, quiet: bool) -> None:
    """Answer one question so the embedder and the language model are loaded up front."""
    from rag import api, registry

    if not quiet:
        print("loading the models…", file=sys.stderr)
    try:
        store = registry.open_store(settings)
        if store.exists() and store.count_chunks():
            api.answer(WARM_UP_QUESTION, settings=settings)
    except Exception:  # the first question will report it properly
        log.exception("warm-up failed")
