"""The ``rag`` command.

``rag`` registers its own subcommands (ask, status, delete) from ``rag.commands``; every
other package contributes its subcommands through the ``rag.commands`` entry-point group, as
simonw/llm's plugins do: an entry point names a ``register(subparsers)`` function that adds
parsers whose defaults set ``func(args) -> exit status``. So this layer imports nothing from
the packages built on it (``ingest``, ``ui``); see ``[project.entry-points."rag.commands"]``
in pyproject.toml.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

GROUP = "rag.commands"


def plugin_registrars() -> list:
    """The ``register`` functions of the installed packages' subcommands, in name order.

    A package whose optional dependencies are missing is left out rather than breaking
    ``rag``."""
    found = []
    for ep in sorted(entry_points(group=GROUP), key=lambda ep: ep.name):
        try:
            found.append(ep.load())
        except ModuleNotFoundError:
            continue  # that package is not installed with this checkout
    return found


def build_parser() -> argparse.ArgumentParser:
    from rag import commands

    parser = argparse.ArgumentParser(
        prog="rag", description="Ask your articles; every answer cites the sentence it rests on."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.register(sub)
    for register in plugin_registrars():
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
