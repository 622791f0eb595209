"""The llama.cpp build: portable, and a crash becomes one line."""

from __future__ import annotations

import platform
import sys

import pytest

from rag.backends import llama_check
from rag.backends.llama_check import build_features, check_llama

CRASH = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"


@pytest.mark.integration
def test_installed_llama_cpp_has_no_amx():
    """Runs on every CPU: the AMX kernels crash on Q4_K_M weights, so they must not be built."""
    features = build_features(llama_check.system_info())
    assert features, "llama_print_system_info() reported no CPU features"
    assert not {f for f in features if f.startswith("AMX")}, features
    if platform.machine() in ("x86_64", "AMD64"):
        assert "AVX2" in features
        assert not {f for f in features if f.startswith("AVX512")}, "not the portable AVX2 build"


@pytest.mark.unit
def test_a_crashing_child_becomes_one_line(tmp_path):
    with pytest.raises(RuntimeError) as info:
        check_llama(tmp_path / "m.gguf", command=[sys.executable, "-c", CRASH], cache_dir=tmp_path)
    message = str(info.value)
    assert message.startswith("the llama.cpp build crashed with signal 11 (SIGSEGV)")
    assert "scripts/llama_build.sh" in message and "\n" not in message


@pytest.mark.unit
def test_a_failing_child_names_the_cause(tmp_path):
    command = [sys.executable, "-c", "raise SystemExit('bad magic in model file')"]
    with pytest.raises(RuntimeError, match="could not run .*bad magic in model file"):
        check_llama(tmp_path / "m.gguf", command=command, cache_dir=tmp_path)


@pytest.mark.unit
def test_a_passing_check_is_remembered(tmp_path, monkeypatch):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"x")
    runs = tmp_path / "runs"
    monkeypatch.setattr(llama_check, "PROBE", f"open({str(runs)!r}, 'a').write('x')")
    check_llama(model, cache_dir=tmp_path / "cache")
    check_llama(model, cache_dir=tmp_path / "cache")
    assert runs.read_text() == "x"
    model.write_bytes(b"changed")  # another model file: checked again
    check_llama(model, cache_dir=tmp_path / "cache")
    assert runs.read_text() == "xx"
