"""Cold start of the ``rag`` command, each run a fresh process, before and after side by side.

    python bench/cold_start.py --before ../before [--runs 5] [--write]

``--before`` is a checkout of the code to compare against (its ``rag`` package is run from
its own directory with this checkout's Python, so both use the same libraries); without it
only this checkout is measured. Each side gets its own data directory with the demo corpus
ingested, and one untimed ``rag ask`` first (one-time work: the int8 file, the llama.cpp
check, the page cache). Then, for each run, every command runs once per side, alternating,
so both sides see the same machine. Reported: the median wall time of the whole process,
its CPU time (user + system) and peak RSS. ``--write`` adds the table to bench/RESULTS.md.

The targets (issue 18): ``rag ask`` <= 3 s, ``rag status`` <= 1.5 s, ``rag --help`` <= 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.results import cpu_name  # noqa: E402

QUESTION = "How much does SoftBank pay OpenAI?"
EXPECTED = "$3 billion"
TARGETS = {"ask": 3.0, "status": 1.5, "--help": 0.3}


class Side:
    """One checkout: how to run its ``rag`` command, with its own data directory."""

    def __init__(self, name: str, checkout: Path, module: str, home: Path, nice: int = 0):
        self.name, self.checkout, self.module, self.home = name, checkout, module, home
        self.nice = nice
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
        self.env["RAG_HOME"] = str(home)
        self.env["PYTHONPATH"] = str(checkout)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", self.module, *args]

    def measure(self, *args: str) -> tuple[float, float, str]:
        """(wall s, CPU s, stdout) of ``rag ARGS`` in a fresh process."""
        before = os.times()
        started = time.perf_counter()
        done = subprocess.run(
            self.argv(*args),
            cwd=self.checkout,
            env=self.env,
            capture_output=True,
            text=True,
            preexec_fn=(lambda: os.nice(self.nice)) if self.nice else None,
        )
        wall = time.perf_counter() - started
        after = os.times()
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: rag {' '.join(args)}: {done.stderr.strip()[-400:]}")
        cpu = (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )
        return wall, cpu, done.stdout


def peak_rss_mb(side: Side, *args: str) -> float:
    """Peak RSS of one run, by GNU time (NaN without it)."""
    if Path("/usr/bin/time").exists():
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", *side.argv(*args)],
            cwd=side.checkout,
            env=side.env,
            capture_output=True,
            text=True,
        )
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        if last.isdigit():
            return int(last) / 1024
    return float("nan")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--before", type=Path, help="a checkout of the code before (old layout ok)")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--write", action="store_true", help="add the table to bench/RESULTS.md")
    p.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run the measured processes at this nice value (negative needs root): on a "
        "shared machine, -15 gives them most of the CPU; say so next to the figures",
    )
    args = p.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="rag-cold-"))
    sides = [Side("after", ROOT, "rag.cli", work / "after", args.nice)]
    if args.before:
        before = args.before.resolve()
        module = "rag.apps.cli" if (before / "rag" / "apps" / "cli.py").exists() else "rag.cli"
        sides.insert(0, Side("before", before, module, work / "before", args.nice))
    commands = {"ask": ("ask", QUESTION), "status": ("status",), "--help": ("--help",)}
    load_start = os.getloadavg()
    try:
        for side in sides:
            corpus = side.checkout / "corpus" / "softbank-openai-japan.txt"
            side.measure("ingest", str(corpus))
            answer = side.measure("ask", QUESTION)[2]  # untimed: one-time work happens here
            if EXPECTED not in answer:
                raise SystemExit(f"{side.name}: unexpected answer {answer!r}")
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                for side in sides:
                    wall, cpu, _ = side.measure(*cmd)
                    times.setdefault((side.name, name), []).append((wall, cpu))
        rss = {
            (s.name, name): peak_rss_mb(s, *cmd) for s in sides for name, cmd in commands.items()
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_end = os.getloadavg()

    header = (
        f"`rag` cold start, {args.runs} fresh processes per command and side "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC): {cpu_name()}, {os.cpu_count()} cores; "
        f"load average {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end"
        + (f"; measured processes at nice {args.nice}" if args.nice else "")
    )
    names = [s.name for s in sides]
    cols = " | ".join(f"{n}: wall median (min–max) / CPU / peak RSS" for n in names)
    lines = [header, "", f"| command | {cols} | target |", "| --- |" + " --- |" * (len(sides) + 1)]
    for name, cmd in commands.items():
        cells = []
        for side in names:
            walls = [w for w, _ in times[(side, name)]]
            cpus = [c for _, c in times[(side, name)]]
            cells.append(
                f"{statistics.median(walls):.2f} s ({min(walls):.2f}–{max(walls):.2f}) / "
                f"{statistics.median(cpus):.2f} s / {rss[(side, name)]:.0f} MB"
            )
        label = f"`rag {' '.join(cmd)}`".replace(QUESTION, "…")
        lines.append(f"| {label} | {' | '.join(cells)} | ≤ {TARGETS[name]} s |")
    table = "\n".join(lines)
    print(table)
    if args.write:
        results = ROOT / "bench" / "RESULTS.md"
        text = results.read_text()
        marker = "## Change log"
        section = f"## Cold start (bench/cold_start.py)\n\n{table}\n\n"
        text = text.replace(marker, section + marker, 1) if marker in text else text + section
        results.write_text(text)
        print(f"wrote {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
