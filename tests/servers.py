"""Real servers for tests, started on free loopback ports and stopped afterwards: a child
process in its own process group, ready when a path answers HTTP 200 (bounded wait)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A child process in its own process group, ready when ``ready_path`` answers 200."""

    def __init__(self, name: str, argv: list[str], port: int, ready_path: str, log: Path, env=None):
        self.name, self.port, self.log = name, port, log
        self.url = f"http://127.0.0.1:{port}"
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        self.ready_path = ready_path

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.fail(f"exited with {self.process.returncode}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.fail(f"not ready after {timeout:.0f} s")

    def fail(self, why: str):
        self.stop()
        tail = self.log.read_text(errors="replace")[-3000:]
        pytest.fail(f"{self.name} {why}; log {self.log}:\n{tail}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


def start(name, argv, ready_path, tmp, timeout, env=None, port=None) -> Server:
    port = port or free_port()
    server = Server(name, argv(port), port, ready_path, tmp / f"{name}.log", env)
    try:
        server.wait_ready(timeout)
    except BaseException:
        server.stop()
        raise
    return server


def start_chroma(tmp: Path) -> Server:
    """``chroma run`` (the server that comes with chromadb) on a fresh directory."""
    chroma = Path(sys.executable).with_name("chroma")
    assert chroma.exists(), f"the chroma CLI (from chromadb) is missing next to {sys.executable}"
    argv = lambda port: [  # noqa: E731
        str(chroma), "run", "--path", str(tmp / "db"), "--host", "127.0.0.1", "--port", str(port)
    ]  # fmt: skip
    return start("chroma", argv, "/api/v2/heartbeat", tmp, timeout=60)
