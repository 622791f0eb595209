"""``rag eval QUESTIONS --out DIR``: answer a file of questions, write results and a report."""

from __future__ import annotations

import argparse
import sys

SHOWN = (
    "n",
    "em",
    "f1",
    "hit_at_1",
    "hit_at_5",
    "mrr",
    "abstain_precision",
    "abstain_recall",
    "false_abstain_rate",
    "citation_support",
    "latency_p50_s",
    "latency_p95_s",
)


HELP = "Run a file of questions and score the answers."


def register(sub) -> None:
    """Add ``rag eval`` (the ``rag.commands`` entry point)."""
    p = sub.add_parser("eval", help=HELP, description=HELP)
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from rag.commands import add_filter_arguments, add_settings_arguments, whole_number

    _positive = whole_number(1)

    p.add_argument("questions", help="JSONL, CSV or SQuAD v2.0 JSON file of questions")
    p.add_argument("--out", default="eval-out", help="output directory (default eval-out)")
    p.add_argument(
        "--format",
        default="auto",
        choices=["auto", "jsonl", "csv", "squad"],
        help="file format (default: from the extension); squad first ingests the file's "
        "articles into --collection (default squad-<file stem>)",
    )
    p.add_argument("--limit", type=_positive, help="ask only the first N questions")
    p.add_argument("--sample", type=_positive, help="ask a random sample of N questions")
    p.add_argument("--seed", type=whole_number(0), default=0, help="seed of --sample (default 0)")
    p.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="questions answered at once, each worker with its own model and a share of "
        "RAG_N_THREADS (default 1)",
    )
    p.add_argument("--top-k", metavar="N", help="passages shown to the model (1-50)")
    p.add_argument("--retrieval", choices=["dense", "bm25", "hybrid"])
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress (a bar on a terminal, else a line per 5%% of the questions)",
    )
    add_filter_arguments(p)
    add_settings_arguments(p)


def run(args: argparse.Namespace) -> int:
    from ingest.evaluation.report import fmt
    from ingest.evaluation.runner import REPORT, RESULTS, SUMMARY, evaluate
    from rag.commands import filters_from, settings_from

    settings = settings_from(args, top_k=args.top_k, retrieval=args.retrieval)
    result = evaluate(
        args.questions,
        settings=settings,
        out_dir=args.out,
        limit=args.limit,
        sample=args.sample,
        seed=args.seed,
        workers=args.workers,
        progress=not args.quiet,
        format=args.format,
        collection=args.collection,
        **filters_from(args),
    )
    summary = result.summary
    width = max(map(len, SHOWN))
    for key in SHOWN:
        print(f"{key:<{width}}  {fmt(summary.get(key))}")
    run_info = summary["run"]
    print(
        f"asked {run_info['n_asked']}, resumed {run_info['n_resumed']}, "
        f"{run_info['wall_s']} s; wrote {args.out}/{{{RESULTS}, {SUMMARY}, {REPORT}}}",
        file=sys.stderr,
    )
    return 0
