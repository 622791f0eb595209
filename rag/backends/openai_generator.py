"""A generator behind an OpenAI-compatible HTTP server: llama.cpp's ``llama-server`` or
``python -m llama_cpp.server``, vLLM, Ollama, LM Studio, or a hosted API.

The guarantees of the local model hold here too, because they do not rest on the model:

- every answer is grounded by the pipeline (``rag.pipeline``): the reply is mapped
  onto a verbatim span of the cited sentence, or the assistant abstains;
- where the server offers constrained decoding, the reply can only be a run of whole words
  of the evidence sentences (``copy_grammar``, a GBNF grammar: llama.cpp's ``grammar``
  field, vLLM's ``structured_outputs.grammar``); the system/user text is data to it. A
  free-text answer (``rag.free_text``) gets ``cite_grammar`` instead, which fixes only its
  form: every sentence ends with the marker of a passage the model was given;
- where the server returns ``logprobs``, the probability the model gave to starting its
  answer with a word of the sources is ``stats.copy_prob``, the same abstention signal as the
  local model's. One extra one-token request, without the grammar, asks for it: llama-cpp-
  python's server reports logprobs after the grammar's mask (measured: 0.97 where the model
  itself gave 0.001), and pays for them on every generated token (a Python sort of the
  whole vocabulary).

httpx rather than the ``openai`` package: it is already installed (chromadb and gradio depend
on it), the non-standard fields (``grammar``, ``structured_outputs``) would need ``extra_body``
anyway, and owning the retry loop lets every failure become one line naming the URL.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import httpx

from rag import prompts
from rag.errors import Unavailable
from rag.protocols import DEFAULT_STOP, Completion, GenerationStats
from rag.records import ABSTAIN_TEXT
from rag.settings import Settings

_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_TRAILING = ".,;:!?\"'”’…"
_INSTRUCT_NAME = re.compile(r"instruct|chat|(^|[-_.:/])it($|[-_.:])", re.IGNORECASE)
MAX_BACKOFF_S = 8.0


class LLMServerError(Unavailable):
    """One line naming the server's URL and what went wrong (the CLI prints it as is)."""


# ----- constrained decoding -------------------------------------------------------------
def gbnf_literal(text: str) -> str:
    """``text`` as a GBNF string literal; non-ASCII characters as escapes.

    >>> gbnf_literal('say "hi" \\\\ £2')
    '"say \\\\"hi\\\\" \\\\\\\\ \\\\u00A32"'
    """
    out = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= code < 127:
            out.append(ch)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04X}")
        else:
            out.append(f"\\U{code:08X}")
    return '"' + "".join(out) + '"'


def _split_word(word: str) -> tuple[str, str]:
    """A word and the punctuation after it, which a copied run may leave out at its end.

    >>> _split_word("services."), _split_word("(£2.4bn)"), _split_word("...")
    (('services', '.'), ('(£2.4bn)', ''), ('...', ''))
    """
    core = word.rstrip(_TRAILING)
    return (core, word[len(core) :]) if core else (word, "")


def copy_grammar(sources: Sequence[str], *, allow_unknown: bool = False) -> str:
    """A GBNF grammar that admits only a contiguous run of whole words of one source
    (optionally after a space, always ending in a newline), or ``unknown`` if allowed.

    One rule per word, ``s_i ::= w_i (" " s_{i+1})?``, so it grows linearly with the text.

    >>> print(copy_grammar(["Ann paid $3."]))
    root ::= " "? (s0-0 | s0-1 | s0-2) "\\n"
    s0-0 ::= "Ann" (" " s0-1)?
    s0-1 ::= "paid" (" " s0-2)?
    s0-2 ::= "$3" "."?
    """
    rules: list[str] = []
    starts: list[str] = []
    for k, source in enumerate(sources):
        ws = source.split()
        for i, word in enumerate(ws):
            core, punct = _split_word(word)
            name = f"s{k}-{i}"
            starts.append(name)
            rest = f'(" " s{k}-{i + 1})?' if i + 1 < len(ws) else ""
            if punct and rest:
                body = f"{gbnf_literal(core)} ({gbnf_literal(punct)} {rest})?"
            elif punct:
                body = f"{gbnf_literal(core)} {gbnf_literal(punct)}?"
            else:
                body = f"{gbnf_literal(core)} {rest}".rstrip()
            rules.append(f"{name} ::= {body}")
    if allow_unknown:
        starts.append(gbnf_literal(prompts.UNKNOWN))
    if not starts:
        raise ValueError("copy_grammar: no words in the sources")
    root = f'root ::= " "? ({" | ".join(starts)}) "\\n"'
    return "\n".join([root, *rules])


# A claim's text: no brackets, line breaks or sentence ends inside it (a full stop only
# before a non-space, as in "2.4bn"), so each sentence ends with its own marker.
_CITE_TEXT = r'text ::= ([^.!?\[\]\n] | "." [^ .!?\[\]\n])+ "."?'


def cite_grammar(abstain: str, passages: int) -> str:
    """A GBNF grammar for the form of a free-text answer, not its words: on one line,
    sentences that each end with markers of passages 1 to ``passages`` (``[2]``, ``[1, 3]``),
    optionally after "Yes. " or "No. ", or the abstention sentence. A model that forgets to
    cite, or cites a passage it was not given, is made to cite one; whether its sentences
    hold up is still the claim check's job (``rag.claims``).

    >>> print(cite_grammar("None.", 3))
    root ::= " "? ("None." | (("Yes" | "No") ". ")? claim (" " claim)*) "\\n"?
    claim ::= text " [" num ((", " | ",") num)* "]" "."?
    text ::= ([^.!?\\[\\]\\n] | "." [^ .!?\\[\\]\\n])+ "."?
    num ::= "1" | "2" | "3"
    """
    body = f'{gbnf_literal(abstain)} | (("Yes" | "No") ". ")? claim (" " claim)*'
    numbers = " | ".join(f'"{n}"' for n in range(1, max(1, passages) + 1))
    return "\n".join(
        [
            f'root ::= " "? ({body}) "\\n"?',
            'claim ::= text " [" num ((", " | ",") num)* "]" "."?',
            _CITE_TEXT,
            f"num ::= {numbers}",
        ]
    )


def copy_probability(top_logprobs: dict[str, float], sources: Sequence[str]) -> float:
    """The probability mass, among the server's top tokens for the first position, of the
    tokens that begin a word of the sources: what the local model's copy_prob measures over
    the whole vocabulary with the sources' own tokenization; here a lower bound from the top
    k. Without the server's tokenizer, of the top tokens that are prefixes of the same word
    start only the longest counts (" their", not also " the" and " t"), as a tokenizer
    would have cut it; a bare space counts only before a number (Gemma writes " 1932" as
    " ", "1", "9"...; elsewhere a space token is not how a copied word begins).

    >>> round(copy_probability({" $": math.log(0.6), " about": math.log(0.3)}, ["pays $3."]), 2)
    0.6
    >>> round(copy_probability({" the": -1.0, " their": math.log(0.2)}, ["their son"]), 2)
    0.2
    >>> copy_probability({"\\n": 0.0}, ["pays $3."])
    0.0
    """
    texts = [" ".join(s.split()) for s in sources]
    starts = {t[m.start() :] for t in texts for m in re.finditer(r"\S+", t)}
    counted: dict[str, float] = {}
    for start in starts:
        best: tuple[int, str] | None = None
        for token in top_logprobs:
            piece = token.lstrip(" ")
            longer = best is None or len(piece) > best[0]
            if piece and "\n" not in token and start.startswith(piece) and longer:
                best = (len(piece), token)
        if best is not None:
            counted[best[1]] = top_logprobs[best[1]]
    if any(start[:1].isdigit() for start in starts):
        for token, logprob in top_logprobs.items():  # a bare space begins a number
            if token and not token.strip(" "):
                counted[token] = logprob
    return min(1.0, sum((math.exp(v) for v in counted.values() if v is not None), 0.0))


def _top_logprobs(choice: dict) -> dict[str, float] | None:
    """The first position's top logprobs, from a completions or a chat choice."""
    lp = choice.get("logprobs") or {}
    if isinstance(lp.get("top_logprobs"), list) and lp["top_logprobs"]:  # /v1/completions
        first = lp["top_logprobs"][0]
        if isinstance(first, dict) and first:
            return {str(k): float(v) for k, v in first.items() if v is not None}
        return None
    content = lp.get("content")
    if isinstance(content, list) and content:  # /v1/chat/completions
        first = content[0]
        top = {str(t["token"]): float(t["logprob"]) for t in first.get("top_logprobs") or []}
        if "token" in first and first.get("logprob") is not None:
            top.setdefault(str(first["token"]), float(first["logprob"]))
        return top or None
    return None


# ----- server-sent events ---------------------------------------------------------------
def parse_sse(lines: Iterable[str]) -> Iterator[dict]:
    """The JSON events of a server-sent event stream, up to ``data: [DONE]``.

    >>> list(parse_sse(['data: {"a": 1}', '', ': ping', 'data: [DONE]', '', 'data: {"b": 2}']))
    [{'a': 1}]
    """
    data: list[str] = []

    def event() -> dict | None:
        payload = "\n".join(data)
        data.clear()
        return json.loads(payload) if payload else None

    for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                if "\n".join(data).strip() == "[DONE]":
                    return
                item = event()
                if item is not None:
                    yield item
            continue
        if line.startswith(":"):
            continue  # a comment (keep-alive ping)
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data and "\n".join(data).strip() != "[DONE]":
        item = event()
        if item is not None:
            yield item


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except Exception:
        return _one_line(response.text)
    if isinstance(body, dict):
        err = body.get("error", body.get("detail", body))
        if isinstance(err, dict):
            err = err.get("message", err)
        return _one_line(err if isinstance(err, str) else json.dumps(err))
    return _one_line(json.dumps(body))


class OpenAIGenerator:
    """Greedy completion through an OpenAI-compatible server, streamed (SSE), with
    timeouts and bounded retries; every failure is one ``LLMServerError`` line."""

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api_key: str | None = None,
        api: str = "auto",
        constrain: str = "auto",
        top_logprobs: int = 20,
        timeout: float = 60.0,
        retries: int = 2,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        answer: str = "free",
        context: int = 2048,
    ):
        self.base_url = base_url.rstrip("/")
        self.free_text = answer == "free"
        self.default_context = context
        self._context: int | None = None
        self._tokenizer: str | None = None  # which endpoint counts tokens, once known
        self._model = model
        self.name = f"openai:{model or '(served model)'}@{self.base_url}"
        self.api = api
        self.constrain = constrain
        self.top_logprobs = top_logprobs
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=self.base_url + "/",
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
        )
        self._checked = False
        self._lock = threading.Lock()

    # ----- the model ------------------------------------------------------------------
    @property
    def model(self) -> str:
        """The served model's name, checked once against ``GET /models``."""
        with self._lock:
            if not self._checked:
                self._model = self._check_model()
                self.name = f"openai:{self._model}@{self.base_url}"
                self._checked = True
        assert self._model is not None
        return self._model

    def _check_model(self) -> str:
        response = self._send("GET", "models")
        if response.status_code == 404:  # a server without the listing: trust the setting
            if self._model:
                return self._model
            raise self._error("RAG_LLM_MODEL is not set and the server lists no models")
        if response.status_code >= 400:
            raise self._status_error(response)
        try:
            served = [str(m["id"]) for m in response.json().get("data", [])]
        except Exception:
            raise self._error("GET /models did not return an OpenAI model list") from None
        if self._model is None:
            if len(served) == 1:
                return served[0]
            raise self._error(f"set RAG_LLM_MODEL to one of: {', '.join(served) or '(none)'}")
        if self._model in served or f"{self._model}:latest" in served or not served:
            return self._model
        raise self._error(
            f"model '{self._model}' not found; it serves: {', '.join(served)} (RAG_LLM_MODEL)"
        )

    def warm_up(self) -> None:
        """Reach the server now: a down server, a wrong key or model fails here."""
        self.model  # noqa: B018

    def close(self) -> None:
        self._client.close()

    @property
    def chat(self) -> bool:
        if self.api == "auto":
            return bool(_INSTRUCT_NAME.search(self.model))
        return self.api == "chat"

    @property
    def _root(self) -> str:
        """The server's address without ``/v1``, where llama.cpp and vLLM put their extras."""
        return self.base_url.removesuffix("/v1")

    def _get_json(self, method: str, url: str, body: dict | None = None) -> Any:
        """A best-effort request for what the server may say about itself: None when it
        does not answer that (a refused connection still fails as usual)."""
        response = self._send(method, url, body)
        if response.status_code >= 400:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def context_window(self) -> int:
        """The model's context in tokens, as the server says: llama.cpp's ``GET /props``
        (``default_generation_settings.n_ctx``, per slot), vLLM's ``max_model_len`` in
        ``GET /v1/models``; else the setting (``RAG_LLM_CONTEXT``). Asked once."""
        if self._context is None:
            self._context = _served_context(self._get_json("GET", self._root + "/props"))
            if self._context is None:
                listing = self._get_json("GET", "models")
                self._context = _listed_context(listing, self.model)
            self._context = self._context or self.default_context
        return self._context

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the server's own tokenizer where it has an endpoint for it
        (llama.cpp and vLLM ``POST /tokenize``, llama-cpp-python ``POST /extras/tokenize``),
        else an upper estimate (a token per three characters)."""
        if self._tokenizer is None:
            self._tokenizer = "estimate"
            for path in ("/tokenize", "/extras/tokenize"):
                if _token_count(self._tokenize(path, "probe")) is not None:
                    self._tokenizer = path
                    break
        if self._tokenizer != "estimate":
            count = _token_count(self._tokenize(self._tokenizer, text))
            if count is not None:
                return count
        return len(text) // 3 + 1

    def _tokenize(self, path: str, text: str) -> Any:
        body = {"content": text, "prompt": text, "input": text, "model": self.model}
        return self._get_json("POST", self._root + path, body)

    # ----- requests ---------------------------------------------------------------------
    def _error(self, cause: str) -> LLMServerError:
        return LLMServerError(f"LLM server {self.base_url}: {_one_line(cause, 400)}")

    def _status_error(self, response: httpx.Response) -> LLMServerError:
        code = response.status_code
        attempts = self.retries + 1 if code in _RETRY_STATUS else 1
        message = _server_message(response)
        if code in (401, 403):
            return self._error(f"{code} unauthorized: check RAG_LLM_API_KEY ({message})")
        if code == 404 and "model" in message.lower():
            return self._error(f"model '{self._model}' not found (RAG_LLM_MODEL): {message}")
        if code == 404:
            path = response.request.url.path
            return self._error(f"{path} not found (404); is RAG_LLM_BASE_URL right, up to /v1?")
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return self._error(f"HTTP {code}{tries}: {message}")

    def _send(self, method: str, path: str, body: dict | None = None, *, stream: bool = False):
        """One request with bounded retries (connection errors, timeouts, 429 and 5xx),
        backing off exponentially; returns the response (open when ``stream``)."""
        attempts = self.retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                request = self._client.build_request(method, path, json=body)
                response = self._client.send(request, stream=stream)
            except httpx.ConnectError as exc:
                if last:
                    reason = "connection refused" if "refused" in str(exc).lower() else str(exc)
                    raise self._error(f"{reason or 'cannot connect'} (is it running?)") from None
            except httpx.TimeoutException:
                if last:
                    raise self._error(
                        f"no answer within {self.timeout:g}s (RAG_LLM_TIMEOUT)"
                    ) from None
            except httpx.HTTPError as exc:
                if last:
                    raise self._error(f"{type(exc).__name__}: {exc}") from None
            else:
                if response.status_code not in _RETRY_STATUS or last:
                    if stream and response.status_code >= 400:
                        response.read()
                    return response
                delay = response.headers.get("retry-after", "")
                response.close()
                if delay.isdigit():
                    time.sleep(min(float(delay), MAX_BACKOFF_S))
                    continue
            time.sleep(min(self.backoff * 2**attempt, MAX_BACKOFF_S))
        raise AssertionError("unreachable")

    def _body(
        self,
        prompt: str,
        max_tokens: int,
        stop: Sequence[str],
        copy_from: Sequence[str] | None,
        system: str | None = None,
        cite: int = 0,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "stop": list(stop),
        }
        if self.chat:
            body["messages"] = [
                {"role": "system", "content": system or prompts.CHAT_SYSTEM},
                {"role": "user", "content": prompt},
            ]
        else:
            body["prompt"] = prompt
        sources = [s for s in copy_from or () if s.strip()]
        grammar = None
        if self.constrain != "none" and sources:
            grammar = copy_grammar(sources, allow_unknown=self.chat)
        elif self.constrain != "none" and cite > 0:
            grammar = cite_grammar(ABSTAIN_TEXT, cite)
        if grammar:
            if self.constrain == "vllm":
                body["structured_outputs"] = {"grammar": grammar}
            else:
                body["grammar"] = grammar
        return body

    @property
    def _path(self) -> str:
        return "chat/completions" if self.chat else "completions"

    def _post(self, body: dict[str, Any], *, stream: bool = False) -> httpx.Response:
        """POST, dropping a field the server refuses (``grammar``, ``logprobs``) once and for
        all rather than failing: grounding still holds without them."""
        while True:
            response = self._send("POST", self._path, body, stream=stream)
            if response.status_code < 400:
                return response
            message = _server_message(response).lower()
            refused = [
                f
                for f in ("grammar", "structured_outputs", "logprobs", "top_logprobs")
                if f in body and f in message and response.status_code in (400, 422)
            ]
            if not refused:
                raise self._status_error(response)
            for field in refused:
                body.pop(field)
                if "logprobs" in field:
                    self.top_logprobs = 0
                else:
                    self.constrain = "none"

    def _text(self, choice: dict) -> str:
        if self.chat:
            return (choice.get("delta") or choice.get("message") or {}).get("content") or ""
        return choice.get("text") or ""

    def _probe(self, body: dict[str, Any], sources: Sequence[str], stats: GenerationStats):
        """One token with logprobs: the abstention signal, before the answer streams."""
        # Without the grammar: llama-cpp-python's server computes logprobs after the grammar
        # has masked the logits, which would put all the mass on source words.
        probe = {k: v for k, v in body.items() if k not in ("grammar", "structured_outputs")}
        probe["max_tokens"] = 1
        if self.chat:
            probe.update(logprobs=True, top_logprobs=self.top_logprobs)
        else:
            probe["logprobs"] = self.top_logprobs
        out = self._post(probe).json()
        choice = (out.get("choices") or [{}])[0]
        stats.prompt_tokens = int((out.get("usage") or {}).get("prompt_tokens") or 0)
        top = _top_logprobs(choice)
        if top is None:
            self.top_logprobs = 0  # this server does not return them; stop asking
            return
        stats.copy_prob = copy_probability(top, sources)

    def stream(
        self,
        prompt: str,
        *,
        max_tokens: int = 32,
        stop: Sequence[str] = DEFAULT_STOP,
        copy_from: Sequence[str] | None = None,
        stats: GenerationStats | None = None,
        system: str | None = None,
        cite: int = 0,
    ) -> Iterator[str]:
        stats = stats if stats is not None else GenerationStats()
        body = self._body(prompt, max_tokens, stop, copy_from, system, cite)
        sources = [s for s in copy_from or () if s.strip()]
        if sources and self.top_logprobs > 0:
            self._probe(body, sources, stats)
        body["stream"] = True
        response = self._post(body, stream=True)
        try:
            for event in parse_sse(response.iter_lines()):
                if "error" in event:
                    raise self._error(f"error while streaming: {_server_message_of(event)}")
                usage = event.get("usage") or {}
                if usage.get("prompt_tokens"):
                    stats.prompt_tokens = int(usage["prompt_tokens"])
                for choice in event.get("choices") or []:
                    stats.cut_off = stats.cut_off or choice.get("finish_reason") == "length"
                    text = self._text(choice)
                    if text:
                        stats.completion_tokens += 1
                        yield text
        except httpx.TimeoutException:
            raise self._error(f"stream stalled for {self.timeout:g}s (RAG_LLM_TIMEOUT)") from None
        except httpx.HTTPError as exc:
            raise self._error(f"stream broken: {type(exc).__name__}: {exc}") from None
        except json.JSONDecodeError:
            raise self._error("the stream is not OpenAI-style server-sent events") from None
        finally:
            response.close()

    def complete(
        self, prompt: str, *, max_tokens: int = 32, stop: Sequence[str] = DEFAULT_STOP
    ) -> Completion:
        out = self._post(self._body(prompt, max_tokens, stop, None)).json()
        choice = (out.get("choices") or [{}])[0]
        usage = out.get("usage") or {}
        return Completion(
            text=self._text(choice),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )


def _served_context(props: Any) -> int | None:
    """llama.cpp's ``/props``: the context of one slot.

    >>> _served_context({"default_generation_settings": {"n_ctx": 4096}})
    4096
    >>> _served_context({"detail": "Not Found"}) is None
    True
    """
    if not isinstance(props, dict):
        return None
    settings = props.get("default_generation_settings")
    value = (settings if isinstance(settings, dict) else {}).get("n_ctx", props.get("n_ctx"))
    return value if isinstance(value, int) and value > 0 else None


def _listed_context(listing: Any, model: str) -> int | None:
    """vLLM's ``/v1/models``: ``max_model_len`` of the model.

    >>> _listed_context({"data": [{"id": "q", "max_model_len": 32768}]}, "q")
    32768
    >>> _listed_context({"data": [{"id": "q"}]}, "q") is None
    True
    """
    entries = listing.get("data") if isinstance(listing, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("id") == model:
            value = entry.get("max_model_len")
            return value if isinstance(value, int) and value > 0 else None
    return None


def _token_count(reply: Any) -> int | None:
    """The count in a tokenize reply: ``{"tokens": [...]}`` or ``{"count": n}``."""
    if not isinstance(reply, dict):
        return None
    if isinstance(reply.get("count"), int):
        return reply["count"]
    return len(reply["tokens"]) if isinstance(reply.get("tokens"), list) else None


def _server_message_of(event: dict) -> str:
    err = event.get("error")
    if isinstance(err, dict):
        err = err.get("message", err)
    return _one_line(err if isinstance(err, str) else json.dumps(err))


def create(settings: Settings) -> OpenAIGenerator:
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return OpenAIGenerator(
        settings.llm_base_url,
        settings.llm_model,
        api_key=key,
        api=settings.llm_api,
        constrain=settings.llm_constrain,
        top_logprobs=settings.llm_top_logprobs,
        timeout=settings.llm_timeout,
        retries=settings.llm_retries,
        answer=settings.llm_answer,
        context=settings.llm_context,
    )


def describe(settings: Settings) -> str:
    """For ``rag status``; does not contact the server (and never shows the key)."""
    model = settings.llm_model or "(the server's only model)"
    key = ", key set" if settings.llm_api_key else ""
    return f"{model} at {settings.llm_base_url} (api {settings.llm_api}{key})"
