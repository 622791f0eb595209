"""``rag doctor`` and the CLI facing a crashing llama.cpp build."""

from __future__ import annotations

import io
import sys

import pytest

from ingest import doctor
from rag.backends import llama_check

CRASH = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"


@pytest.mark.unit
def test_cli_answers_a_crashing_build_with_one_line(
    tmp_path, monkeypatch, capsys, fake_embedder, corpus_copy
):
    from rag import cli
    from rag.backends.llama_cpp import LlamaCppGenerator

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(llama_check, "PROBE", CRASH)
    generator = LlamaCppGenerator(tmp_path / "model.gguf")
    monkeypatch.setattr("rag.registry.load_generator", lambda settings: generator)
    assert cli.main(["ingest", str(corpus_copy), "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["ask", "How much does SoftBank pay OpenAI?"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[0]] and "crashed with signal 11 (SIGSEGV)" in err[0]


@pytest.mark.unit
def test_doctor_names_the_step_and_signal_of_a_crash(settings):
    script = "import json, os, signal; print(json.dumps({'start': 'language model'}), flush=True);"
    out = io.StringIO()
    argv = [sys.executable, "-c", script + CRASH.split(";", 1)[1]]
    code = doctor.run(settings, argv=argv, out=out)
    assert code == 1
    assert out.getvalue().strip() == (
        "FAIL the llama.cpp build crashed with signal 11 (SIGSEGV) while checking the "
        f"language model; {llama_check.REBUILD_HINT}"
    )


@pytest.mark.integration
@pytest.mark.slow
def test_doctor_passes_on_this_install(settings):
    out = io.StringIO()
    code = doctor.run(settings, out=out)
    lines = out.getvalue().splitlines()
    assert code == 0, lines
    assert [line.split(":")[0] for line in lines] == [f"ok   {s}" for s in doctor.STEPS]
    assert "$3 billion" in lines[-1]
