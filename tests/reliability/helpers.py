"""Running the real ``rag`` command in subprocesses, and comparing indexes chunk by chunk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from rag.backends.chroma import ChromaStore
from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SIGKILLED = -signal.SIGKILL


def cli_env(home: Path, *, real: bool = False, kill_at: str | None = None, **extra) -> dict:
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["RAG_HOME"] = str(home)
    env.pop("RAG_TEST_KILL_AT", None)
    if kill_at:
        env["RAG_TEST_KILL_AT"] = kill_at
    if not real:
        env["RAG_EMBEDDER"] = "hash"
        env["RAG_GENERATOR"] = "echo"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def cli_command(*args: str, real: bool = False) -> list[str]:
    module = "rag.cli" if real else "tests.reliability.hashcli"
    return [sys.executable, "-m", module, *args]


def rag(
    *args: str,
    home: Path,
    real: bool = False,
    kill_at: str | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
    **extra,
) -> subprocess.CompletedProcess:
    """Run ``rag ARGS`` to the end (or its kill point); bounded by ``timeout``."""
    return subprocess.run(
        cli_command(*args, real=real),
        env=cli_env(home, real=real, kill_at=kill_at, **extra),
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def spawn(*args: str, home: Path, real: bool = False, **extra) -> subprocess.Popen:
    """Start ``rag ARGS`` in its own process group (kill it with ``stop``)."""
    return subprocess.Popen(
        cli_command(*args, real=real),
        env=cli_env(home, real=real, **extra),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def snapshot(settings: Settings) -> dict:
    """Everything stored: every chunk (id, text, metadata) and article record, committed or not."""
    store = ChromaStore(settings)
    chunks = store.chunks.get(include=["documents", "metadatas"])
    articles = store.articles.get(include=["documents", "metadatas"])
    return {
        "chunks": sorted(
            zip(chunks["ids"], chunks["documents"], map(_items, chunks["metadatas"]), strict=True)
        ),
        "articles": sorted(
            zip(
                articles["ids"],
                articles["documents"],
                map(_items, articles["metadatas"]),
                strict=True,
            )
        ),
    }


def _items(meta: dict) -> tuple:
    return tuple(sorted(meta.items()))


def diff(got: dict, want: dict) -> str:
    """A short description of how two snapshots differ ('' when equal)."""
    lines = []
    for part in ("articles", "chunks"):
        g, w = {x[0]: x for x in got[part]}, {x[0]: x for x in want[part]}
        if set(g) - set(w):
            lines.append(f"{len(set(g) - set(w))} extra {part}")
        if set(w) - set(g):
            lines.append(f"{len(set(w) - set(g))} missing {part}")
        changed = [k for k in set(g) & set(w) if g[k] != w[k]]
        if changed:
            lines.append(f"{len(changed)} {part} differ, e.g. {g[changed[0]]} vs {w[changed[0]]}")
    return "; ".join(lines)
