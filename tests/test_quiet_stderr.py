"""A new user's first minute, in real processes on a fresh data directory: ``rag ingest``,
``rag ask``, ``rag status`` and ``rag ui`` start-up write nothing on stderr but our own
lines (no library warnings, native log lines, progress bars or Gradio advice), and
``--verbose`` still shows what the libraries said."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import CORPUS, ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTION = "How much does SoftBank pay OpenAI?"
# Every line a normal run may write on stderr.
OWN_LINES = [
    r"preparing the int8 embedder once \(all-MiniLM-L6-v2, about 10 s\)…",
    r"loading the models…",
    r"serving on http://127\.0\.0\.1:\d+/ \(Ctrl\+C stops it\)",
    r"interrupted",
]


def foreign_lines(stderr: str) -> list[str]:
    """The lines of ``stderr`` that are not ours."""
    return [
        line
        for line in stderr.splitlines()
        if not any(re.fullmatch(pattern, line) for pattern in OWN_LINES)
    ]


def environment(home: Path, cache: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_HOME=str(home), PYTHONPATH=str(ROOT), **extra)
    if cache is not None:
        env["XDG_CACHE_HOME"] = str(cache)
    return env


def rag(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ui(env: dict, *flags: str) -> tuple[str, str]:
    """``rag ui`` until it says it serves, one page fetched, then Ctrl+C: (stderr, page)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "ui", "--port", str(port), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    lines: list[str] = []
    page = ""
    try:
        deadline = time.monotonic() + 300
        waiter = select.poll()  # not select.select: a long test session holds fds above 1024
        waiter.register(proc.stderr, select.POLLIN)
        while time.monotonic() < deadline and proc.poll() is None:
            if waiter.poll(1000):
                line = proc.stderr.readline()
                lines.append(line)
                if line.startswith("serving on"):
                    break
        assert lines and lines[-1].startswith("serving on"), "".join(lines)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
            page = response.read().decode("utf-8", "replace")
        time.sleep(1.0)  # anything printed just after start-up is caught too
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=60)
        lines.append(rest)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 130, "".join(lines)
    return "".join(lines), page


def test_a_first_minute_writes_only_our_own_lines(tmp_path):
    """The machine's model cache as a user has it after the first run."""
    env = environment(tmp_path / "home")
    ingested = rag("ingest", str(CORPUS), env=env)
    assert ingested.returncode == 0, ingested.stderr
    assert "1 article (1 added" in ingested.stdout and "(5 chunks)" in ingested.stdout
    asked = rag("ask", QUESTION, env=env)
    assert asked.returncode == 0 and "$3 billion" in asked.stdout
    status = rag("status", env=env)
    assert status.returncode == 0 and "articles       : 1" in status.stdout
    ui_stderr, page = start_ui(env)
    assert "Ask your articles" in page
    for done in (ingested, asked, status):
        assert foreign_lines(done.stderr) == [], done.stderr
    assert foreign_lines(ui_stderr) == [], ui_stderr
    assert "share=True" not in ui_stderr and "llama_kv_cache" not in asked.stderr


def test_the_very_first_run_says_one_line_for_the_int8_build(tmp_path):
    """A fresh cache: the int8 file is exported and quantised (about 10-30 s) and llama.cpp
    checked once; of all that only our own line reaches stderr."""
    env = environment(tmp_path / "home", cache=tmp_path / "cache")
    ingested = rag("ingest", str(CORPUS), env=env)
    assert ingested.returncode == 0, ingested.stderr
    assert ingested.stderr.splitlines() == [
        "preparing the int8 embedder once (all-MiniLM-L6-v2, about 10 s)…"
    ]
    asked = rag("ask", QUESTION, env=env)  # the first llama.cpp check runs here
    assert asked.returncode == 0 and asked.stderr == "", asked.stderr
    assert list((tmp_path / "cache").glob("rag/onnx/*/model_int8.onnx"))


def test_verbose_shows_what_the_libraries_said(tmp_path):
    """Nothing is thrown away: --verbose (or RAG_LOG_LEVEL=debug) shows llama.cpp's own
    lines and the libraries' log records."""
    env = environment(tmp_path / "home")
    assert rag("ingest", str(CORPUS), env=env).returncode == 0
    quiet = rag("ask", QUESTION, env=env)
    loud = rag("ask", QUESTION, "--verbose", env=env)
    debug = rag("ask", QUESTION, env={**env, "RAG_LOG_LEVEL": "debug"})
    assert quiet.stderr == ""
    for run in (loud, debug):
        assert run.returncode == 0
        assert "[llama_cpp.native] llama_model_loader" in run.stderr
        assert len(run.stderr.splitlines()) > 20


def test_a_cold_ask_imports_neither_torch_nor_langchain(tmp_path):
    """A one-off ``rag ask`` (int8 embedder, llama.cpp) imports what answering needs only:
    no torch or transformers (the int8 path tokenises with ``tokenizers``), no LangChain
    (our LangChain classes are made when asked for) and nothing of the layers above."""
    env = environment(tmp_path / "home", RAG_EMBEDDER="onnx-int8")
    assert rag("ingest", str(CORPUS), env=env).returncode == 0
    heavy = ("torch", "transformers", "sentence_transformers", "langchain_core", "ingest", "ui")
    code = (
        "import sys\n"
        "from rag import cli\n"
        f"code = cli.main(['ask', {QUESTION!r}])\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert "$3 billion" in done.stdout
    assert done.stdout.splitlines()[-1] == "[]", done.stdout
