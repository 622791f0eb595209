"""``rag ingest PATH... [--sync]``: one line per file, a summary, exit 1 if any failed."""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    from rag.commands import add_settings_arguments

    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    p.add_argument("--sync", action="store_true", help="also remove articles whose files are gone")
    p.add_argument("--quiet", action="store_true", help="print failures and the summary only")
    add_settings_arguments(p)


def run(args: argparse.Namespace) -> int:
    from ingest.indexer import ingest_paths
    from rag.commands import settings_from

    def show(result) -> None:
        if result.status == "failed":
            print(f"failed: {result.error}", file=sys.stderr)
        elif not args.quiet:
            print(
                f"{result.status}: {result.title or ''} ({result.n_chunks} chunks) {result.source}"
            )

    report = ingest_paths(
        args.paths,
        settings=settings_from(args),
        sync=args.sync,
        progress=not args.quiet,
        on_result=show,
    )
    print(report.summary())
    return 0 if report.ok else 1
