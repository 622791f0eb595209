"""Fast fakes for unit tests: a hash-seeded bag-of-words embedder and a scripted LLM."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterator, Sequence

from rag.protocols import DEFAULT_STOP, Completion, GenerationStats

_WORD = re.compile(r"[a-z0-9$]+")


class HashEmbedder:
    """Deterministic embeddings: each word hashes to a dimension, vectors are L2-normalised.

    Texts sharing words are close, so retrieval behaves sensibly without a model.
    """

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.name = f"hash-{dim}"
        self.calls = 0
        self.texts_embedded = 0
        self.queries: list[str] = []  # every embed_query text, in order

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for word in _WORD.findall(text.lower()):
            slot = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim
            vec[slot] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    @property
    def dimension(self) -> int:
        return self.dim

    def warm_up(self) -> None:
        pass

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        self.texts_embedded += len(texts)
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return self._vector(text)


class ScriptedLLM:
    """Answers from a script: a function of the prompt, or a fixed reply. Records prompts.

    It does not restrict itself to ``copy_from`` (the pipeline's grounding must catch
    that); ``copy_prob`` is what it reports as its wish to copy. With ``free_text`` the
    pipeline treats it as a model answering in its own words (claims checked one by one).
    """

    def __init__(
        self,
        reply: str | Callable[[str], str] = "unknown",
        copy_prob: float = 1.0,
        *,
        free_text: bool = False,
        chat: bool = False,
        context: int = 2048,
    ):
        self.name = "scripted"
        self.reply = reply
        self.copy_prob = copy_prob
        self.free_text = free_text
        self.chat = chat
        self.context = context
        self.prompts: list[str] = []
        self.systems: list[str | None] = []
        self.cites: list[int] = []
        self.copy_from: list[Sequence[str] | None] = []

    def _text(self, prompt: str, stop: Sequence[str]) -> str:
        self.prompts.append(prompt)
        text = self.reply(prompt) if callable(self.reply) else self.reply
        for s in stop:
            if s and s in text:
                text = text[: text.index(s)]
        return text

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
        text = self._text(prompt, stop)
        self.copy_from.append(copy_from)
        self.systems.append(system)
        self.cites.append(cite)
        stats = stats if stats is not None else GenerationStats()
        stats.prompt_tokens = self.count_tokens(prompt)
        if copy_from:
            stats.copy_prob = self.copy_prob
        pieces = re.findall(r"\S+\s*|\s+", text)
        stats.cut_off = len(pieces) > max_tokens  # a piece is a token here
        for piece in pieces[:max_tokens]:
            stats.completion_tokens += 1
            yield piece

    def complete(
        self, prompt: str, *, max_tokens: int = 32, stop: Sequence[str] = DEFAULT_STOP
    ) -> Completion:
        text = self._text(prompt, stop)
        return Completion(text, self.count_tokens(prompt), self.count_tokens(text))

    def warm_up(self) -> None:
        pass

    def context_window(self) -> int:
        return self.context

    def count_tokens(self, text: str) -> int:
        return len(text.split())
