"""A long-running reader (like ``rag ui``): ``python -m tests.reliability.reader QUESTION
NEEDLE SECONDS`` asks every 0.1 s until a retrieved passage holds NEEDLE. Prints READY after
its first search (its client and vector index are loaded), then FOUND <unix time>."""

from __future__ import annotations

import sys
import time

import tests.reliability.hashcli  # noqa: F401 (registers the hash and echo backends)
from rag.pipeline import Assistant
from rag.settings import Settings
from tests.fakes import HashEmbedder, ScriptedLLM


def main(question: str, needle: str, seconds: float) -> int:
    settings = Settings(retrieval="dense", embedder="hash")  # names hashcli registered
    assistant = Assistant(settings, embedder=HashEmbedder(), llm=ScriptedLLM())
    deadline = time.monotonic() + seconds
    ready = False
    while time.monotonic() < deadline:
        if any(needle in p.chunk.text for p in assistant.retrieve(question, 4)):
            print("FOUND", time.time(), flush=True)
            return 0
        if not ready:
            print("READY", flush=True)
            ready = True
        time.sleep(0.1)
    print("TIMEOUT", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
