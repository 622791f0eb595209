"""The ``rag`` command with test-only backends, for subprocesses of the reliability tests:
``python -m tests.reliability.hashcli ingest ...`` with ``RAG_EMBEDDER=hash`` (the hash
embedder of tests/fakes.py) and ``RAG_GENERATOR=echo`` (copies the evidence's first words).
Production code registers neither."""

from __future__ import annotations

import os
import sys
import time

from rag import registry
from rag.cli import main
from tests.fakes import HashEmbedder, ScriptedLLM


def _echo_llm(settings) -> ScriptedLLM:
    def reply(prompt: str) -> str:
        return " ".join(prompt.split("Answer:")[0].split()[-6:])

    return ScriptedLLM(reply)


class SlowHashEmbedder(HashEmbedder):
    """Sleeps ``HASH_EMBED_DELAY`` seconds per batch, so a run lasts long enough to overlap."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        time.sleep(float(os.environ.get("HASH_EMBED_DELAY", "0")))
        return super().embed_documents(texts)


registry.register("embedder", "hash", lambda settings: SlowHashEmbedder())
registry.register("generator", "echo", _echo_llm)

if __name__ == "__main__":
    sys.exit(main())
