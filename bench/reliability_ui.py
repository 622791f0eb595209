"""The browser UI's reliability figures: question latency during a large upload against
without one (same run, interleaved around the upload), and how many login guesses the
lockout lets through.

    python bench/reliability_ui.py [--questions 12] [--upload-mb 19.5] [--no-append]

Serves the app in this process on a free loopback port (real MiniLM embedder, Chroma and
Gemma 3 270M through llama.cpp) over the demo corpus plus four short articles, and asks
through gradio_client, one question at a time:
  1. ``--questions`` questions with nothing else running (before);
  2. starts a ``--upload-mb`` MB .jsonl upload, waits until it is embedding, asks the same
     questions again while it is indexed (during);
  3. stops the upload and asks them a third time (after).
Then: 100 wrong passwords against the running server's login, and the lockout policy
played against a fake clock for a day of non-stop guessing.

Prints a Markdown table and appends it, with the machine and the date, to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ingest  # noqa: E402
import rag  # noqa: E402
from tests.reliability.test_ui import (  # noqa: E402
    FACTS,
    QUESTIONS,
    free_port,
    write_big_upload,
)
from ui.login import LockedOut, LoginGuard  # noqa: E402

ACCOUNT = ("bench", "bench-s3cret")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                if "Xeon" in name and "avx512_fp16" in Path("/proc/cpuinfo").read_text():
                    name += " (Sapphire Rapids class)"
                return f"{name}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ask_all(client, questions: list[str]) -> list[float]:
    latencies = []
    for question in questions:
        started = time.perf_counter()
        result = client.predict(question, 0, api_name="/ask")
        latencies.append(time.perf_counter() - started)
        expected = QUESTIONS[question][0]
        if expected not in result["text"]:
            print(f"  note: {question!r} -> {result['text']!r}", file=sys.stderr)
    return latencies


def simulated_guesses(hours: float = 24.0, settings=None) -> tuple[int, float]:
    """Guesses one attacker gets checked for one user in ``hours`` of non-stop trying (one
    attempt a second), under the default lockout policy."""
    settings = settings or rag.Settings()
    now = [0.0]
    guard = LoginGuard(
        {"ann": "right"},
        max_failures=settings.login_max_failures,
        lockout_s=settings.login_lockout_s,
        clock=lambda: now[0],
    )
    checked = 0
    logging.getLogger("ui").setLevel(logging.ERROR)  # no line per simulated failure
    while now[0] < hours * 3600:
        try:
            guard.check("ann", "wrong", f"10.0.{checked % 200}.1")  # a new address each time
            checked += 1
        except LockedOut:
            pass
        now[0] += 1.0
    return checked, checked / (hours * 3600)


def main() -> int:
    from gradio_client import Client, handle_file

    from tests.conftest import CORPUS
    from ui.app import launch

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--questions", type=int, default=12)
    p.add_argument("--upload-mb", type=float, default=19.5)
    p.add_argument("--no-append", action="store_true")
    args = p.parse_args()

    root = Path(tempfile.mkdtemp(prefix="rag-bench-ui-"))
    facts = root / "facts"
    facts.mkdir()
    for name, text in FACTS.items():
        (facts / name).write_text(text)
    settings = rag.Settings(home=root / "rag-home", login_lockout_s=600)
    ingest.ingest([CORPUS, facts], settings=settings)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    app = launch(settings, "127.0.0.1", port, ACCOUNT, block=False, warm_up=True, quiet=True)
    rows: list[tuple[str, str]] = []
    try:
        client = Client(url, auth=ACCOUNT, verbose=False)
        names = list(QUESTIONS)
        questions = [names[i % len(names)] for i in range(args.questions)]
        ask_all(client, names[:2])  # warm
        before = ask_all(client, questions)

        big = write_big_upload(root / "upload.jsonl", int(args.upload_mb * 1_000_000))
        worker = app.rag_service.worker
        upload = Client(url, auth=ACCOUNT, verbose=False).submit(
            [handle_file(str(big))], api_name="/upload"
        )
        deadline = time.monotonic() + 900
        while not (worker.current and worker.current.chunks_embedded):
            if time.monotonic() > deadline or upload.done():
                raise SystemExit("the upload did not start embedding")
            time.sleep(0.2)
        job = worker.current
        during = ask_all(client, questions)
        finished_first = not job.done
        embedded = job.chunks_embedded
        upload_s = time.monotonic() - (job.started or job.submitted)
        worker.close()  # stop the upload between two batches
        after = ask_all(client, questions)

        # login: 100 wrong passwords at the real server
        started = time.perf_counter()
        wrong = [{"username": ACCOUNT[0], "password": f"x{i}"} for i in range(100)]
        codes = [httpx.post(f"{url}login", data=form).status_code for form in wrong]
        login_s = time.perf_counter() - started
        checked = codes.count(400)
        day_checked, day_rate = simulated_guesses(24.0)  # the default policy
    finally:
        app.close()

    quiet = before + after
    ratio = statistics.median(during) / statistics.median(quiet)
    rows += [
        ("questions (each asked alone, one at a time)", f"{len(questions)} × 3 rounds"),
        (
            "latency without an upload, p50 / p95 (s)",
            f"{pct(quiet, 0.5):.2f} / {pct(quiet, 0.95):.2f}",
        ),
        (
            f"latency during a {args.upload_mb:g} MB upload, p50 / p95 (s)",
            f"{pct(during, 0.5):.2f} / {pct(during, 0.95):.2f}",
        ),
        ("during / without, p50 (target ≤ 2)", f"{ratio:.2f}"),
        (
            "every question answered before the upload finished",
            f"{'yes' if finished_first else 'no'} "
            f"({embedded:,} chunks embedded in {upload_s:.0f} s)",
        ),
        (
            "login: 100 wrong passwords at the server",
            f"{checked} checked, {codes.count(429)} refused (429), in {login_s:.2f} s",
        ),
        (
            "login: guesses checked per second, at the server",
            f"{checked / login_s:.1f}/s for {checked} tries, then 0 until the lockout ends",
        ),
        (
            "login: guesses checked in 24 h of non-stop guessing (policy, fake clock)",
            f"{day_checked} ({day_rate * 3600:.1f}/h; before: 100 in 0.08 s)",
        ),
    ]
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        f"### UI reliability ({when}; {cpu_name()}; shared machine)",
        "",
        "| measure | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in rows],
        "",
        f"Questions: the demo corpus plus four short articles; {len(questions)} questions asked "
        "through gradio_client before, during and after the upload (the upload is a .jsonl of "
        "generated 10 KB articles, indexed by the background worker at nice +10 with "
        f"{settings.upload_threads} embedding thread). Lockout policy (defaults): "
        f"{rag.Settings().login_max_failures} failures per user (4x per address), then "
        f"{rag.Settings().login_lockout_s:g} s doubling up to 1 h; the server in this run "
        f"locks for {settings.login_lockout_s:g} s. Timings are noisy: the machine was shared "
        "with other jobs (load average 15-20 on 2 cores).",
        "",
    ]
    table = "\n".join(lines)
    print(table)
    if not args.no_append:
        results = ROOT / "bench" / "RESULTS.md"
        text = results.read_text() if results.exists() else ""
        header = "## Reliability: the browser UI (bench/reliability_ui.py)"
        if header not in text:
            text = text.rstrip() + f"\n\n{header}\n"
        results.write_text(text.rstrip() + "\n\n" + table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
