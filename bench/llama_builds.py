"""Warm answer latency with different llama.cpp builds of the same llama-cpp-python version.

    python bench/llama_builds.py --build portable=/tmp/llama-portable \\
        --build native=/tmp/llama-native --rounds 3 --repeat 20

Each DIR holds a llama-cpp-python installed with ``pip install --no-deps --target DIR
WHEEL``; it goes first on PYTHONPATH of a child process, which ingests the demo corpus
into a scratch index (once) and times warm answers to the demo questions. Builds take
turns round by round, so a change in the machine's load hits them alike. A build that
crashes is reported with the line ``rag`` gives, not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
from pathlib import Path
import llama_cpp
from ingest import api as ingest_api
from rag import api
from rag.settings import Settings

home, repeat = Path(sys.argv[1]), int(sys.argv[2])
settings = Settings(home=home)
if not (home / "chroma").exists():
    ingest_api.ingest(Path(sys.argv[3]) / "corpus", settings=settings)
lines = (Path(sys.argv[3]) / "corpus" / "questions.jsonl").read_text().splitlines()
questions = [json.loads(x)["question"] for x in lines if x.strip()]
try:
    api.answer(questions[0], settings=settings)  # warm-up: load both models
except RuntimeError as exc:
    print(json.dumps({"error": str(exc)})); sys.exit(0)
times, texts = [], []
for i in range(repeat):
    t = time.perf_counter()
    a = api.answer(questions[i % len(questions)], settings=settings)
    times.append(time.perf_counter() - t)
    texts.append(a.text)
info = llama_cpp.llama_print_system_info().decode()
print(json.dumps({"times": times, "texts": texts, "info": " ".join(info.split())}))
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_child(directory: str, home: Path, repeat: int) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (directory, str(ROOT)) if p)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(home), str(repeat), str(ROOT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", action="append", required=True, metavar="NAME=DIR")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=20, help="warm answers per round")
    args = parser.parse_args()
    builds = dict(b.split("=", 1) for b in args.build)
    home = Path(tempfile.mkdtemp(prefix="rag-llama-builds-"))
    times: dict[str, list[float]] = {name: [] for name in builds}
    notes: dict[str, str] = {}
    answers: dict[str, list[str]] = {}
    for _ in range(args.rounds):
        for name, directory in builds.items():
            if name in notes and "error" in notes[name]:
                continue
            got = run_child(directory, home, args.repeat)
            if "error" in got:
                notes[name] = "error: " + got["error"]
                continue
            times[name] += got["times"]
            notes[name] = got["info"]
            answers.setdefault(name, got["texts"])
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; {args.rounds} rounds x {args.repeat}")
    print("| build | warm p50 (s) | warm p95 (s) | n | same answers as first | llama.cpp |")
    print("| --- | --- | --- | --- | --- | --- |")
    first = next((answers[n] for n in builds if n in answers), None)
    for name in builds:
        if not times[name]:
            print(f"| {name} | - | - | 0 | - | {notes.get(name, '')} |")
            continue
        same = answers.get(name) == first
        print(
            f"| {name} | {statistics.median(times[name]):.3f} | "
            f"{percentile(times[name], 0.95):.3f} | {len(times[name])} | {same} | {notes[name]} |"
        )


if __name__ == "__main__":
    main()
