"""The browser chat: ``create_app()`` builds the Gradio app, ``launch()`` serves it."""

from __future__ import annotations

import html
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import rag
from rag.records import Answer
from ui.render import answer_html, history_pairs, safe_upload_name

log = logging.getLogger(__name__)

EXAMPLES = [
    "How much does SoftBank pay OpenAI?",
    "How many people will SB OpenAI Japan hire?",
    "Who owns SB OpenAI Japan?",
]
UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf", ".jsonl"]
MAX_UPLOAD_FILES = 20
MAX_UPLOAD_MB = 20
CSS = """
.rag-abstain {border-left: 4px solid #d97706; background: #fffbeb; padding: 6px 10px}
.rag-answer {font-size: 1.05em; margin-bottom: 6px}
.rag-source {border: 1px solid #e5e7eb; border-radius: 6px; padding: 4px 8px; margin: 4px 0}
.rag-source summary {cursor: pointer}
.rag-context {white-space: pre-line; font-size: 0.9em; color: #374151; margin-top: 6px}
.rag-context mark {background: #fde68a}
"""


def _error(exc: Exception) -> str:
    """A readable one-line message, never a stack trace."""
    log.exception("request failed")
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f'<div class="rag-abstain"><b>Error.</b> {html.escape(text)}</div>'


def _render(answer: Answer, settings: rag.Settings) -> str:
    texts = {
        c.article_id: rag.article_text(c.article_id, settings=settings) for c in answer.citations
    }
    return answer_html(answer, texts)


def index_summary(settings: rag.Settings) -> str:
    st = rag.status(settings=settings)
    return f"**{st.n_articles}** articles · **{st.n_chunks}** chunks"


def article_choices(settings: rag.Settings) -> list[tuple[str, str]]:
    return [
        (f"{a.title} ({a.n_chunks} chunks)", a.id) for a in rag.status(settings=settings).articles
    ]


def chat(
    message: str, messages: list[dict], top_k: int, settings: rag.Settings
) -> Iterator[tuple[list[dict], str]]:
    """Stream an answer into the chat: partial text first, then the final answer with sources."""
    messages = list(messages or [])
    question = (message or "").strip()
    if not question:
        yield messages, ""
        return
    history = history_pairs(messages)
    messages += [{"role": "user", "content": question}, {"role": "assistant", "content": ""}]
    yield messages, ""
    try:
        streamed = ""
        for item in rag.stream_answer(question, history=history, settings=settings, top_k=top_k):
            if isinstance(item, Answer):
                messages[-1] = {"role": "assistant", "content": _render(item, settings)}
            else:
                streamed += item
                messages[-1] = {"role": "assistant", "content": html.escape(streamed)}
            yield messages, ""
    except Exception as exc:  # shown to the user as one line
        messages[-1] = {"role": "assistant", "content": _error(exc)}
        yield messages, ""


def ask_api(question: str, top_k: int, settings: rag.Settings) -> dict:
    """For gradio_client: the answer with its citations as JSON."""
    a = rag.answer(question, settings=settings, top_k=int(top_k))
    return {
        "text": a.text,
        "abstained": a.abstained,
        "citations": [c.__dict__ for c in a.citations],
        "standalone_question": a.standalone_question,
    }


def upload(files: list[str] | None, settings: rag.Settings) -> Iterator[str]:
    """Copy uploads into the data directory and ingest them; one line per file."""
    files = list(files or [])
    if not files:
        yield "Choose files to upload."
        return
    if len(files) > MAX_UPLOAD_FILES:
        yield f"Too many files ({len(files)}); the limit is {MAX_UPLOAD_FILES} at a time."
        return
    dest_dir = settings.uploads_path.resolve()
    dest_dir.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    accepted: list[Path] = []
    for f in files:
        src = Path(f)
        name = safe_upload_name(src.name)
        if Path(name).suffix.lower() not in UPLOAD_TYPES:
            lines.append(f"- ❌ **{html.escape(src.name)}**: unsupported type")
            continue
        if src.stat().st_size > MAX_UPLOAD_MB * 1_000_000:
            lines.append(f"- ❌ **{html.escape(src.name)}**: larger than {MAX_UPLOAD_MB} MB")
            continue
        dest = (dest_dir / name).resolve()
        if dest.parent != dest_dir:  # never outside the uploads folder
            lines.append(f"- ❌ **{html.escape(src.name)}**: bad file name")
            continue
        shutil.copyfile(src, dest)
        accepted.append(dest)
    if accepted:
        yield "\n".join(lines + [f"Ingesting {len(accepted)} file(s)…"])
        report = rag.ingest(accepted, settings=settings)
        for r in report.results:
            name = html.escape(Path(r.source.split("#L")[0]).name)
            if r.status == "failed":
                lines.append(f"- ❌ **{name}**: failed — {html.escape(r.error or '')}")
            else:
                lines.append(f"- ✅ **{name}**: {r.status} ({r.n_chunks} chunks)")
    yield "\n".join(lines)


def create_app(settings: rag.Settings | None = None):
    """Build the Gradio Blocks app (not launched)."""
    import gradio as gr

    settings = settings or rag.Settings()

    with gr.Blocks(title="Ask your articles") as app:
        gr.Markdown("## Ask your articles\nAnswers cite the exact passage they come from.")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=520, elem_id="chat")
                box = gr.Textbox(
                    placeholder="Ask a question about the articles and press Enter",
                    show_label=False,
                    elem_id="question",
                )
                gr.Examples(EXAMPLES, inputs=box, label="Examples")
                clear = gr.Button("New conversation", size="sm")
            with gr.Column(scale=1):
                stats = gr.Markdown(index_summary(settings), elem_id="stats")
                top_k = gr.Slider(1, 10, value=settings.top_k, step=1, label="Passages (top-k)")
                with gr.Accordion("Add articles", open=True):
                    files = gr.File(
                        file_count="multiple",
                        file_types=UPLOAD_TYPES,
                        label="Upload .txt .md .html .pdf .jsonl",
                        elem_id="upload",
                    )
                    upload_result = gr.Markdown(elem_id="upload-result")
                with gr.Accordion("Remove an article", open=False):
                    article = gr.Dropdown(
                        choices=article_choices(settings), label="Article", elem_id="article"
                    )
                    remove = gr.Button("Remove", variant="stop", size="sm")
                    remove_result = gr.Markdown()

        def on_chat(message, messages, k):
            yield from chat(message, messages, k, settings)

        def on_upload(paths):
            yield from upload(paths, settings)

        def refresh():
            return index_summary(settings), gr.update(choices=article_choices(settings))

        def on_remove(article_id):
            if not article_id:
                return "Choose an article first."
            removed = rag.delete(article_id, settings=settings)
            return f"Removed {len(removed)} article(s)."

        box.submit(on_chat, [box, chatbot, top_k], [chatbot, box], api_name=False)
        clear.click(lambda: [], None, chatbot, api_name=False)
        files.upload(on_upload, files, upload_result, api_name=False).then(
            refresh, None, [stats, article], api_name=False
        )
        remove.click(on_remove, article, remove_result, api_name=False).then(
            refresh, None, [stats, article], api_name=False
        )
        app.load(refresh, None, [stats, article], api_name=False)

        def ask(question: str, top_k: int = settings.top_k) -> dict:
            """Answer a question from the articles; returns text, abstained and citations."""
            return ask_api(question, top_k, settings)

        gr.api(ask, api_name="ask")
    return app


def launch(
    settings: rag.Settings | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    block: bool = True,
):
    """Serve the app; binds to localhost unless told otherwise."""
    import gradio as gr

    app = create_app(settings)
    app.queue(default_concurrency_limit=1)
    app.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        prevent_thread_lock=not block,
        show_error=False,
        theme=gr.themes.Soft(),
        css=CSS,
    )
    return app
