"""``rag doctor``: load both models and answer one question, in a child process.

The child writes one JSON line per step. If a native library kills it (llama.cpp built for
another CPU, or with the AMX kernels that crash on Q4_K_M weights), the parent names the
step and the signal in one line instead of dying with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARTICLE = (
    "SoftBank and OpenAI form a joint venture\n\n"
    "SoftBank will pay OpenAI $3 billion a year to use its services across its companies. "
    "The venture is based in Tokyo."
)
QUESTION = "How much will SoftBank pay OpenAI a year?"
STEPS = ("llama.cpp build", "embedding model", "language model")


def _step(name: str, work) -> bool:
    """Run one step; print a JSON line when it starts and when it ends."""
    print(json.dumps({"start": name}), flush=True)
    started = time.perf_counter()
    try:
        ok, detail = work()
    except Exception as exc:  # reported as the step's one line
        ok, detail = False, " ".join(str(exc).split()) or type(exc).__name__
    line = {"step": name, "ok": ok, "detail": detail, "seconds": time.perf_counter() - started}
    print(json.dumps(line), flush=True)
    return ok


def child(settings) -> int:
    """Run every step here (the parent reads the lines)."""
    from ingest.api import ingest
    from rag import registry
    from rag.api import answer
    from rag.backends.llama_check import build_features, system_info

    def build():
        info = system_info()
        amx = sorted(f for f in build_features(info) if f.startswith("AMX"))
        return not amx, info + (f" -- has {', '.join(amx)}, which crash" if amx else "")

    def embedder():
        embedder = registry.load_embedder(settings)
        vector = embedder.embed_query("hello")
        return bool(vector), f"{embedder.name} ({len(vector)} dims)"

    def language_model():
        with tempfile.TemporaryDirectory(prefix="rag-doctor-") as tmp:
            article = Path(tmp) / "doctor-check.txt"
            article.write_text(ARTICLE, encoding="utf-8")
            scratch = settings.with_overrides(home=Path(tmp) / "home", collection="doctor")
            ingest(article, settings=scratch)
            result = answer(QUESTION, settings=scratch)
        return not result.abstained, f"{QUESTION!r} -> {result.text!r}"

    results = [_step(n, w) for n, w in zip(STEPS, (build, embedder, language_model), strict=True)]
    return 0 if all(results) else 1


def register(sub) -> None:
    """Add ``rag doctor`` (the ``rag.commands`` entry point)."""
    from rag.commands import add_settings_arguments, settings_from

    doc = sub.add_parser(
        "doctor",
        help="Check the install: load both models and answer one question, in a child process.",
    )
    add_settings_arguments(doc)
    doc.set_defaults(func=lambda args: run(settings_from(args)))


def run(settings, *, argv=None, timeout: float = 300.0, out=None) -> int:
    """Start the child, print a line per step; 0 when every step passed.

    ``argv`` replaces the child's command line (tests use it to crash on purpose).
    """
    from rag.backends.llama_check import REBUILD_HINT, signal_name

    out = out or sys.stdout
    if argv is None:
        argv = [sys.executable, "-m", "ingest.doctor", "--home", str(settings.home)]
        argv += ["--collection", settings.collection]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        print(f"rag doctor: no answer within {timeout:.0f} s", file=out)
        return 1
    current, failed = None, False
    for raw in stdout.splitlines():
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if "start" in line:
            current = line["start"]
            continue
        current = None
        failed |= not line["ok"]
        mark = "ok  " if line["ok"] else "FAIL"
        print(f"{mark} {line['step']}: {line['detail']} ({line['seconds']:.1f} s)", file=out)
    if proc.returncode < 0:
        where = f" while checking the {current}" if current else ""
        number = -proc.returncode
        print(
            f"FAIL the llama.cpp build crashed with signal {number} ({signal_name(number)})"
            f"{where}; {REBUILD_HINT}",
            file=out,
        )
        return 1
    if proc.returncode != 0 and not failed:
        lines = [x for x in stderr.splitlines() if x.strip()]
        cause = lines[-1].strip() if lines else f"exit status {proc.returncode}"
        print(f"FAIL {current or 'check'}: {cause}", file=out)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    import argparse

    from rag.settings import resolve

    parser = argparse.ArgumentParser(prog="python -m ingest.doctor")
    parser.add_argument("--home")
    parser.add_argument("--collection")
    args = parser.parse_args()
    sys.exit(child(resolve(None, home=args.home, collection=args.collection)))
