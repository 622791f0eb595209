"""``rag ingest PATH... [--sync] [--quiet] [--verbose]``: a line per file or article (the
first ``MAX_LISTED`` of each kind; all with ``--verbose``, which also shows the libraries' log
lines as for every command), counts for the rest, a progress bar on a terminal, a summary;
exit status 1 if any failed.

Module-level imports stay cheap: ``rag --help`` imports this module.
"""

from __future__ import annotations

import argparse
import os
import sys

HELP = "Add articles (files or folders) to the index."
MAX_LISTED = 20  # lines per kind (failed, skipped, the rest) before they are only counted


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
    add_settings_arguments(p)  # --home, --collection, and -v/--verbose: also a line for
    # every article (default: the first MAX_LISTED of each kind)


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
    """``added: corpus/a.txt (5 chunks)`` or ``failed: <reason naming the file>``, with
    control and bidirectional characters of names escaped (one line, read left to right)."""
    from rag.display import printable
    from rag.text import plural

    if result.status in ("failed", "skipped"):
        return printable(f"{result.status}: {result.error}")
    where = display_source(result.source)
    return printable(f"{result.status}: {where} ({plural(result.n_chunks, 'chunk')})")


class Listing:
    """Prints results as they arrive: failures on stderr, the rest on stdout (not with
    ``quiet``); past ``limit`` lines of a kind (failed, skipped, the rest) they are counted,
    and ``tail`` names the counts. ``limit=None`` lists every one."""

    def __init__(self, limit: int | None = MAX_LISTED, quiet: bool = False):
        self.limit, self.quiet = limit, quiet
        self.listed: dict[str, int] = {}
        self.unlisted: dict[str, int] = {}

    def __call__(self, result) -> None:
        failed = result.status == "failed"
        if self.quiet and not failed:
            return
        kind = result.status if result.status in ("failed", "skipped") else "listed"
        if self.limit is not None and self.listed.get(kind, 0) >= self.limit:
            self.unlisted[result.status] = self.unlisted.get(result.status, 0) + 1
            return
        self.listed[kind] = self.listed.get(kind, 0) + 1
        print(format_result(result), file=sys.stderr if failed else sys.stdout, flush=True)

    def tail(self) -> list[tuple[str, object]]:
        """(line, stream) pairs saying what was not listed."""
        lines = []
        hint = "rag ingest --verbose lists every one"
        failed = self.unlisted.get("failed", 0)
        if failed:
            lines.append((f"failed: … and {failed:,} more ({hint})", sys.stderr))
        rest = {k: n for k, n in self.unlisted.items() if k != "failed"}
        if rest:
            counts = ", ".join(f"{n:,} {status}" for status, n in rest.items())
            lines.append((f"not listed: {counts} ({hint})", sys.stdout))
        return lines


def run(args: argparse.Namespace) -> int:
    from ingest.indexer import ingest_paths
    from rag.commands import settings_from

    listing = Listing(None if getattr(args, "verbose", False) else MAX_LISTED, quiet=args.quiet)
    report = ingest_paths(
        args.paths,
        settings=settings_from(args),
        sync=args.sync,
        progress=not args.quiet and sys.stderr.isatty(),
        on_result=listing,
    )
    for line, stream in listing.tail():
        print(line, file=stream)
    print(report.summary())
    return 0 if report.ok else 1
