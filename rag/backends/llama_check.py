"""Run llama.cpp once in a child process before trusting it in this one.

A native library that crashes (an AMX build of llama.cpp segfaults on Q4_K_M weights,
ggml-org/llama.cpp#20824; a build for another CPU dies of SIGILL) would otherwise kill the
CLI, the UI or an evaluation run with a bare signal. The child loads the model and writes
a few tokens; its death becomes one line. A passing check is remembered, keyed by the
library files, the model file and the CPU, so it costs about a second once per build.
"""

from __future__ import annotations

import hashlib
import os
import platform
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from rag.errors import Unavailable

REBUILD_HINT = "rebuild it portable with `bash scripts/llama_build.sh` (README, Set up)"
PROBE = (
    "import sys, llama_cpp\n"
    "m = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=256, n_threads=2, verbose=False)\n"
    "m.create_completion('The capital of France is', max_tokens=4, temperature=0.0)\n"
    "m.close()\n"
)


def system_info() -> str:
    """What the installed llama.cpp was built with, e.g. ``CPU : SSE3 = 1 | AVX2 = 1 | ...``."""
    import llama_cpp

    return " ".join(llama_cpp.llama_print_system_info().decode("utf-8", "replace").split())


def build_features(info: str) -> set[str]:
    """The CPU features a system-info line reports as compiled in.

    >>> sorted(build_features("CPU : SSE3 = 1 | AVX2 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 |"))
    ['AMX_INT8', 'AVX2', 'LLAMAFILE', 'SSE3']
    """
    features = set()
    for part in info.replace("CPU :", "|").split("|"):
        name, _, value = part.partition("=")
        if value.strip() == "1":
            features.add(name.strip())
    return features


def signal_name(number: int) -> str:
    """>>> signal_name(11)
    'SIGSEGV'
    """
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def crash_message(number: int) -> str:
    """The one line a user sees when the native library dies.

    >>> crash_message(11)
    'the llama.cpp build crashed with signal 11 (SIGSEGV); rebuild it portable with `bash ...'
    """
    name = signal_name(number)
    return f"the llama.cpp build crashed with signal {number} ({name}); {REBUILD_HINT}"


def _library_files() -> list[Path]:
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        return []
    lib = Path(spec.origin).parent / "lib"
    return sorted(p for p in lib.glob("*") if p.is_file()) if lib.is_dir() else []


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.machine() + platform.processor()


def check_key(model_path: Path) -> str:
    """Changes when the library, the model file or the CPU changes."""
    parts = [str(model_path), _cpu_flags()]
    for path in [*_library_files(), Path(model_path)]:
        try:
            st = path.stat()
            parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{path}:missing")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rag-articles" / "llama-check"


def check_llama(
    model_path: Path,
    *,
    command: Sequence[str] | None = None,
    cache_dir: Path | None = None,
    timeout: float = 180.0,
) -> None:
    """Raise RuntimeError with one line if llama.cpp cannot run ``model_path`` here.

    ``command`` replaces the child's command line (tests use it to crash on purpose).
    """
    cache = cache_dir or default_cache_dir()
    stamp = cache / check_key(model_path)
    if command is None and stamp.exists():
        return
    argv = list(command or [sys.executable, "-c", PROBE, str(model_path)])
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise Unavailable(
            f"llama.cpp did not answer within {timeout:.0f} s while loading {model_path}"
        ) from None
    if proc.returncode < 0:
        raise Unavailable(crash_message(-proc.returncode))
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        cause = lines[-1].strip() if lines else f"exit status {proc.returncode}"
        raise Unavailable(f"llama.cpp could not run {model_path}: {cause}")
    if command is None:
        try:
            cache.mkdir(parents=True, exist_ok=True)
            stamp.touch()
        except OSError:
            pass  # a read-only cache only means the check runs again next time
