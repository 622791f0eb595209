"""``rag ingest PATH... [--sync] [--quiet]``: one line per file, a summary, exit 1 if any failed.

Module-level imports stay cheap: ``rag --help`` imports this module.
"""

from __future__ import annotations

import argparse
import os
import sys

HELP = "Add articles (files or folders) to the index."


def register(sub) -> None:
    """Add ``rag ingest`` (the ``rag.commands`` entry point)."""
    p = sub.add_parser("ingest", help=HELP, description=HELP)
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from rag.commands import add_settings_arguments

    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (walked)")
    p.add_argument(
        "--sync",
        action="store_true",
        help="also remove articles whose files under these paths are gone",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="print only failures and the summary")
    add_settings_arguments(p)  # --home, --collection


def display_source(source: str) -> str:
    """A path relative to the working directory when it lies under it; else as stored.

    >>> display_source("https://example.org/a")
    'https://example.org/a'
    >>> display_source(os.path.join(os.getcwd(), "corpus", "a.txt"))
    'corpus/a.txt'
    """
    cwd = os.getcwd() + os.sep
    return source[len(cwd) :] if source.startswith(cwd) else source


def format_result(result) -> str:
    from rag.text import plural

    """``added: corpus/a.txt (5 chunks)`` or ``failed: <reason naming the file>``."""
    if result.status in ("failed", "skipped"):
        return f"{result.status}: {result.error}"
    where = display_source(result.source)
    return f"{result.status}: {where} ({plural(result.n_chunks, 'chunk')})"


def run(args: argparse.Namespace) -> int:
    from ingest.indexer import ingest_paths
    from rag.commands import settings_from

    def show(result) -> None:
        if result.status == "failed":
            print(format_result(result), file=sys.stderr, flush=True)
        elif not args.quiet:
            print(format_result(result), flush=True)

    report = ingest_paths(
        args.paths,
        settings=settings_from(args),
        sync=args.sync,
        progress=not args.quiet and sys.stderr.isatty(),
        on_result=show,
    )
    print(report.summary())
    return 0 if report.ok else 1
