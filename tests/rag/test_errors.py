"""The user's errors are one line; a bug is one line saying so, its traceback in the log."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rag import cli, commands
from rag.errors import InputError, RagError, Unavailable
from tests.conftest import ROOT

pytestmark = pytest.mark.unit


def _fail_with(monkeypatch, exc: BaseException):
    def broken(args):
        raise exc

    monkeypatch.setattr(commands, "cmd_status", broken)


def test_a_users_error_is_one_line_and_logs_nothing(monkeypatch, capsys, tmp_path):
    _fail_with(monkeypatch, Unavailable("the Chroma server http://db:8000 is down"))
    assert cli.main(["status", "--home", str(tmp_path / "h")]) == 2
    err = capsys.readouterr().err
    assert err == "rag: error: the Chroma server http://db:8000 is down\n"
    assert not (tmp_path / "h").exists()


def test_a_bug_is_one_line_naming_the_log_that_holds_its_traceback(monkeypatch, capsys, tmp_path):
    _fail_with(monkeypatch, KeyError("chunk_id"))
    home = tmp_path / "h"
    assert cli.main(["status", "--home", str(home)]) == cli.EXIT_BUG
    err = capsys.readouterr().err
    log = home / "logs" / "rag.log"
    assert err == (
        "rag: error: internal error (KeyError: 'chunk_id'), a bug in rag, not your input; "
        f"the traceback is in {log}\n"
    )
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "KeyError: 'chunk_id'" in text
    assert "in broken" in text  # the frame that raised it


def test_the_log_file_can_be_chosen(monkeypatch, capsys, tmp_path):
    _fail_with(monkeypatch, ZeroDivisionError("division by zero"))
    monkeypatch.setenv("RAG_LOG_FILE", str(tmp_path / "my.log"))
    assert cli.main(["status"]) == cli.EXIT_BUG
    assert str(tmp_path / "my.log") in capsys.readouterr().err
    assert "ZeroDivisionError" in (tmp_path / "my.log").read_text()


def test_a_machine_error_is_one_line(monkeypatch, capsys):
    _fail_with(monkeypatch, PermissionError(13, "Permission denied", "/data/.rag/chroma"))
    assert cli.main(["status"]) == 2
    assert capsys.readouterr().err == "rag: error: Permission denied: /data/.rag/chroma\n"


def test_project_errors_are_still_the_builtin_kinds():
    assert issubclass(InputError, ValueError) and issubclass(Unavailable, RuntimeError)
    assert str(RagError("two\nlines")) == "two lines"


def test_a_bug_in_a_real_process_keeps_stderr_to_one_line(tmp_path):
    """A real subprocess whose command raises a bug: one line, and the traceback on disk."""
    code = (
        "import sys\n"
        "from rag import cli, commands\n"
        "def broken(args):\n"
        "    return {}['missing']\n"
        "commands.cmd_status = broken\n"
        "sys.exit(cli.main(['status']))\n"
    )
    env = {**os.environ, "RAG_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert done.returncode == cli.EXIT_BUG
    assert len(done.stderr.splitlines()) == 1 and "internal error (KeyError" in done.stderr
    assert "line 4, in broken" in (tmp_path / "home" / "logs" / "rag.log").read_text()
