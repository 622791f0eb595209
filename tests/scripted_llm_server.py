"""A scripted OpenAI-compatible chat server on 127.0.0.1 (a thread, standard library only):
it reads the numbered passages and the question of each request and answers from a script,
citing the passage that holds a given phrase, so tests can send faithful and unfaithful
claims through the real HTTP path (SSE streaming included)."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "scripted-instruct"
CONTEXT = 4096
_PASSAGE = re.compile(r"^\[(\d+)\] ", re.M)


def passage_numbers(prompt: str) -> dict[int, str]:
    """The numbered passages of a prompt: number -> text (title line included)."""
    starts = list(_PASSAGE.finditer(prompt))
    out = {}
    for m, nxt in zip(starts, [*starts[1:], None], strict=True):
        out[int(m.group(1))] = prompt[m.end() : nxt.start() if nxt else len(prompt)]
    return out


class ScriptedServer:
    """``script``: question -> list of (claim, phrase); each claim is cited with the number
    of the passage holding ``phrase`` (or [1] when none does). Unknown questions get
    "The articles don't say.". ``requests`` keeps every JSON body received."""

    def __init__(self, script: dict[str, list[tuple[str, str]]]):
        self.script = script
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _json(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": MODEL}]})
                elif self.path == "/props":
                    self._json(200, {"default_generation_settings": {"n_ctx": CONTEXT}})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                server.requests.append(body)
                if self.path == "/tokenize":
                    words = str(body.get("content", "")).split()
                    self._json(200, {"tokens": list(range(2 * len(words)))})
                    return
                if self.path != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "not found"}})
                    return
                reply = server.reply(body["messages"][-1]["content"])
                if not body.get("stream"):
                    self._json(200, {"choices": [{"message": {"content": reply}}]})
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                for i in range(0, len(reply), 7):
                    event = {"choices": [{"delta": {"content": reply[i : i + 7]}}]}
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                usage = {"prompt_tokens": 100, "completion_tokens": 20}
                self.wfile.write(
                    f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode()
                )
                self.wfile.write(b"data: [DONE]\n\n")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def reply(self, prompt: str) -> str:
        question = prompt.rsplit("Question:", 1)[-1].strip()
        claims = self.script.get(question)
        if not claims:
            return "The articles don't say."
        passages = passage_numbers(prompt)
        out = []
        for claim, phrase in claims:
            n = next((k for k, text in passages.items() if phrase in text), 1)
            out.append(f"{claim.rstrip('.')} [{n}].")
        return " ".join(out)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
