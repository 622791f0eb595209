"""Benchmark on a SQuAD v2.0 file: ingestion, retrieval, answers, abstention, latency, memory.

    python bench/run.py ../shared/datasets/squad-v2-dev-a.json [--sample N --seed S]
        [--unanswerable M] [--retrieval-limit R] [--set FIELD=VALUE ...] [--out bench/RESULTS.md]

1. Ingest every article (title + paragraphs) into a fresh temporary data directory: chunks/s.
2. Retrieval for dense, BM25 and hybrid: hit@1/5/10 and MRR of the question's article, and
   of a passage containing a gold answer, over the answerable questions.
3. End to end with the default settings: EM/F1 on a seeded sample of N answerable questions,
   abstention precision/recall and false abstentions with M unanswerable ones mixed in;
   latency p50/p95 with warm models (one warm-up question first).
4. Peak resident memory of the process.

Prints one Markdown table; writes it with the machine, date and targets to ``--out``, keeping
that file's "Change log" section and appending this run to it. ``RAG_*`` variables are
ignored so the defaults are measured; try a change with ``--set top_k=6``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CITATION = (
    "SQuAD v2.0 development set (Rajpurkar, Jia and Liang, 2018, *Know What You Don't Know: "
    "Unanswerable Questions for SQuAD*, ACL; CC BY-SA 4.0)"
)
MODES = ("dense", "bm25", "hybrid")
DEPTH = 10
CHANGE_LOG = "## Change log"
BUSY_LOAD = 1.0  # 1-minute load average before the run: above it, others share the CPU
# (summary key, label, comparison, threshold) — the targets of issue 4, on 2 cores.
TARGETS = {
    "hit_at_5": (">=", 0.97),
    "f1": (">=", 0.60),
    "abstain_recall": (">=", 0.60),
    "false_abstain_rate": ("<=", 0.10),
    "latency_p50_s": ("<=", 1.0),
    "latency_p95_s": ("<=", 2.0),
    "chunks_per_s": (">=", 60.0),
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("dataset", type=Path, help="SQuAD v2.0 JSON file")
    p.add_argument("--sample", type=int, default=150, help="answerable questions answered")
    p.add_argument("--unanswerable", type=int, help="unanswerable questions (default = --sample)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--retrieval-limit", type=int, help="answerable questions for retrieval (default all)"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a Settings field, e.g. --set top_k=6 (repeatable)",
    )
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    p.add_argument(
        "--eval-out",
        type=Path,
        help="where the end-to-end results.jsonl, report.html and bench.json go "
        "(default eval-out/bench-<time>)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    return p.parse_args(argv)


# ----- machine ------------------------------------------------------------------------
def machine() -> dict:
    info = {"cores": os.cpu_count(), "python": platform.python_version(), "os": platform.platform()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
        info["cpu"] = model.group(1).strip() if model else platform.processor() or "unknown"
        meminfo = Path("/proc/meminfo").read_text()
        kb = int(re.search(r"^MemTotal:\s+(\d+)", meminfo, re.MULTILINE).group(1))
        info["ram_gb"] = round(kb / 1024 / 1024, 1)
        info["load_at_start"] = round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        info.setdefault("cpu", platform.processor() or "unknown")
    return info


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def git_revision() -> str:
    try:
        rev = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        return rev + (" (uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def parse_overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set {pair}: expected FIELD=VALUE")
        out[field.strip()] = value.strip()
    return out


# ----- steps --------------------------------------------------------------------------
def ingest_step(articles, settings) -> dict:
    from ingest import ingest_articles

    started = time.perf_counter()
    report = ingest_articles(articles, settings=settings, progress=True)
    seconds = time.perf_counter() - started
    results = list(getattr(report, "results", report))
    failed = [r for r in results if r.status == "failed"]
    for r in failed:
        print(f"{r.source}: not ingested, {r.error}", file=sys.stderr)
    chunks = sum(r.n_chunks for r in results)
    return {
        "articles": len(articles),
        "failed": len(failed),
        "chunks": chunks,
        "chars": sum(len(a.text) for a in articles),
        "seconds": round(seconds, 2),
        "chunks_per_s": round(chunks / seconds, 1) if seconds else None,
    }


def retrieval_step(questions, settings) -> dict:
    """hit@k/MRR of the expected article and of an answer-bearing passage, per mode."""
    from tqdm import tqdm

    from ingest.evaluation import metrics
    from rag.api import get_assistant

    out = {}
    for mode in MODES:
        assistant = get_assistant(settings.with_overrides(retrieval=mode))
        assistant.retrieve(questions[0].question, DEPTH)  # build indexes before timing
        source_ranks, answer_ranks, times = [], [], []
        for q in tqdm(questions, desc=f"retrieval {mode}", unit="q", file=sys.stderr):
            started = time.perf_counter()
            passages = assistant.retrieve(q.question, DEPTH)
            times.append(time.perf_counter() - started)
            source_ranks.append(metrics.first_rank([p.source for p in passages], q.source))
            answer_ranks.append(
                next(
                    (
                        i
                        for i, p in enumerate(passages, 1)
                        if metrics.contains_gold(p.chunk.text, q.answers)
                    ),
                    None,
                )
            )
        out[mode] = {
            **{f"hit_at_{k}": metrics.hit_at_k(source_ranks, k) for k in (1, 5, 10)},
            "mrr": metrics.mean_reciprocal_rank(source_ranks),
            **{f"answer_hit_at_{k}": metrics.hit_at_k(answer_ranks, k) for k in (1, 5, 10)},
            "answer_mrr": metrics.mean_reciprocal_rank(answer_ranks),
            "p50_ms": round(1000 * metrics.percentile(times, 50), 1),
            "seconds": round(sum(times), 1),
        }
    return out


def answer_step(questions, settings, out_dir: Path) -> dict:
    from ingest.evaluation import evaluate

    result = evaluate(questions, settings=settings, out_dir=out_dir, progress=True)
    return result.summary


# ----- reporting ----------------------------------------------------------------------
def _f(value, digits=3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def verdict(key: str, value) -> tuple[str, str]:
    if key not in TARGETS:
        return "", ""
    op, limit = TARGETS[key]
    target = f"{'≥' if op == '>=' else '≤'} {limit:g}"
    if value is None:
        return target, "n/a"
    ok = value >= limit if op == ">=" else value <= limit
    return target, "**pass**" if ok else "**FAIL**"


def table(results: dict) -> str:
    ing, ret, e2e = results["ingest"], results["retrieval"], results["answers"]
    default_mode = results["settings"]["retrieval"]
    rows = []

    def add(label, value, key=None, check=None):
        target, status = verdict(key, check if check is not None else value) if key else ("", "")
        rows.append(
            f"| {label} | {value if isinstance(value, str) else _f(value)} | {target} | {status} |"
        )

    add(
        f"ingestion: {ing['articles']} articles, {_f(ing['chunks'])} chunks, "
        f"{_f(ing['seconds'], 1)} s (chunks/s)",
        _f(ing["chunks_per_s"], 1),
        "chunks_per_s",
        ing["chunks_per_s"],
    )
    n_ret = results["samples"]["retrieval"]
    for mode in MODES:
        r = ret[mode]
        mark = " (default)" if mode == default_mode else ""
        value = " / ".join(_f(r[k]) for k in ("hit_at_1", "hit_at_5", "hit_at_10", "mrr"))
        add(
            f"retrieval {mode}{mark}: article hit@1 / @5 / @10 / MRR, n={n_ret}",
            value,
            "hit_at_5" if mode == default_mode else None,
            r["hit_at_5"],
        )
    for mode in MODES:
        r = ret[mode]
        value = " / ".join(
            _f(r[k])
            for k in ("answer_hit_at_1", "answer_hit_at_5", "answer_hit_at_10", "answer_mrr")
        )
        add(
            f"retrieval {mode}: answer-bearing passage hit@1 / @5 / @10 / MRR "
            f"(p50 {r['p50_ms']} ms)",
            value,
        )
    n_a, n_u = e2e["n_answerable"], e2e["n_unanswerable"]
    add(f"answers: exact match (n={n_a} answerable)", e2e["em"])
    add(f"answers: F1 (n={n_a} answerable)", e2e["f1"], "f1")
    add(f"abstention precision (n={n_a}+{n_u})", e2e["abstain_precision"])
    add(f"abstention recall (n={n_u} unanswerable)", e2e["abstain_recall"], "abstain_recall")
    add(f"answerable abstained on (n={n_a})", e2e["false_abstain_rate"], "false_abstain_rate")
    add("citation supports a gold answer (answered, answerable)", e2e["citation_support"])
    add(f"latency p50, warm (s, n={e2e['n']})", e2e["latency_p50_s"], "latency_p50_s")
    add(f"latency p95, warm (s, n={e2e['n']})", e2e["latency_p95_s"], "latency_p95_s")
    add("model load + first answer (s)", e2e["run"]["warmup_s"])
    add("peak RSS (MB)", round(results["peak_rss_mb"]))
    add("benchmark wall time (s)", round(results["wall_s"]))
    if all("seconds" in ret[mode] for mode in MODES):
        steps = [ing["seconds"], *(ret[mode]["seconds"] for mode in MODES), e2e["run"]["wall_s"]]
        add(
            "… of which ingest / retrieval dense, bm25, hybrid / answers (s)",
            " / ".join(str(round(x)) for x in steps),
        )
    return "\n".join(["| measure | value | target | |", "| --- | --- | --- | --- |", *rows])


def one_line(results: dict) -> str:
    ret = results["retrieval"][results["settings"]["retrieval"]]
    e2e = results["answers"]
    return (
        f"hit@5 {_f(ret['hit_at_5'])} · answer-passage hit@5 {_f(ret['answer_hit_at_5'])} · "
        f"EM {_f(e2e['em'])} · F1 {_f(e2e['f1'])} · abstain P/R {_f(e2e['abstain_precision'])}/"
        f"{_f(e2e['abstain_recall'])} · false abstain {_f(e2e['false_abstain_rate'])} · "
        f"p50/p95 {_f(e2e['latency_p50_s'], 2)}/{_f(e2e['latency_p95_s'], 2)} s · "
        f"{_f(results['ingest']['chunks_per_s'], 1)} chunks/s · "
        f"RSS {round(results['peak_rss_mb'])} MB · wall {round(results['wall_s'])} s"
    )


def busy_note(results: dict) -> str:
    """A warning when other processes competed for the CPU (timings then read high)."""
    load = results["machine"].get("load_at_start")
    if load is not None and load > BUSY_LOAD:
        return " — **the machine was busy: the timings are not representative**"
    return ""


def write_results(path: Path, results: dict, markdown_table: str) -> None:
    m, s = results["machine"], results["samples"]
    overrides = results["overrides"]
    header = f"""# Benchmark results

Rerun with `python bench/run.py ../shared/datasets/squad-v2-dev-a.json` (about 10 minutes on
2 cores). The table is the latest run; the change log below keeps every run.

- Date: {results["date"]}
- Machine: {m.get("cores")} cores, {m.get("ram_gb", "?")} GB RAM, {m.get("cpu")}; \
{m.get("os")}, Python {m.get("python")}; load average {m.get("load_at_start", "?")} at the start{
        busy_note(results)
    }
- Code: git {results["git"]}
- Dataset: `{results["dataset"]}`: {results["n_articles"]} Wikipedia articles, \
{_f(results["n_questions"])} questions, from the {CITATION}.
- Samples: retrieval over {_f(s["retrieval"])} answerable questions; end to end \
{s["answerable"]} answerable + {s["unanswerable"]} unanswerable questions (seed {s["seed"]}).
- Settings: {
        "embedded defaults"
        if not overrides
        else "defaults with " + ", ".join(f"`{k}={v}`" for k, v in overrides.items())
    } \
(retrieval {results["settings"]["retrieval"]}, top_k {results["settings"]["top_k"]}).
- "article hit@k": the question's article is among the first k passages; "answer-bearing
  passage": one of the first k passages contains a gold answer. Targets are issue 4's.

{markdown_table}

"""
    log = ""
    if path.exists():
        old = path.read_text(encoding="utf-8")
        if CHANGE_LOG in old:
            log = old.split(CHANGE_LOG, 1)[1].strip("\n")
    entry = (
        f"### {results['date']} — git {results['git']}"
        f"{' — ' + ', '.join(f'{k}={v}' for k, v in overrides.items()) if overrides else ''}\n\n"
        f"{one_line(results)} (n={s['answerable']}+{s['unanswerable']} end to end, seed "
        f"{s['seed']}).\n\nWhat changed: _(to be filled in)_\n"
    )
    body = f"{header}{CHANGE_LOG}\n\n" + (log + "\n\n" if log else "") + entry
    path.write_text(body, encoding="utf-8")


# ----- main ---------------------------------------------------------------------------
def main(argv=None) -> int:
    args = parse_args(argv)
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        print(f"bench: ignoring {name} (measuring the defaults; use --set)", file=sys.stderr)
        del os.environ[name]
    started = time.perf_counter()

    from ingest.evaluation.datasets import Dataset, load_squad, select
    from rag import registry
    from rag.settings import Settings

    articles, questions = load_squad(args.dataset)
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if q.answerable is False]
    n_unanswerable = args.sample if args.unanswerable is None else args.unanswerable
    e2e = select(answerable, sample=args.sample, seed=args.seed) + select(
        unanswerable, sample=n_unanswerable, seed=args.seed
    )
    retrieval_qs = select(answerable, limit=args.retrieval_limit)

    home = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    overrides = parse_overrides(args.set)
    settings = Settings(home=home, collection="bench").with_overrides(**overrides)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    eval_out = args.eval_out or ROOT / "eval-out" / f"bench-{stamp}"
    try:
        load_started = time.perf_counter()
        registry.load_embedder(settings).embed_query("warm up")
        embedder_load_s = time.perf_counter() - load_started
        results = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "git": git_revision(),
            "dataset": os.path.relpath(args.dataset.resolve(), ROOT),
            "n_articles": len(articles),
            "n_questions": len(questions),
            "overrides": overrides,
            "settings": settings.model_dump(mode="json", exclude={"home"}),
            "samples": {
                "retrieval": len(retrieval_qs),
                "answerable": min(args.sample, len(answerable)),
                "unanswerable": min(n_unanswerable, len(unanswerable)),
                "seed": args.seed,
            },
            "embedder_load_s": round(embedder_load_s, 2),
        }
        results["ingest"] = ingest_step(articles, settings)
        results["retrieval"] = retrieval_step(retrieval_qs, settings)
        results["answers"] = answer_step(
            Dataset(str(args.dataset), "squad", e2e, collection="bench"), settings, eval_out
        )
        results["peak_rss_mb"] = peak_rss_mb()
        results["wall_s"] = time.perf_counter() - started
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
        else:
            print(f"bench: data directory kept at {home}", file=sys.stderr)

    markdown = table(results)
    print(markdown)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_results(args.out, results, markdown)
    (eval_out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"bench: wrote {args.out}; per-question results in {eval_out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
