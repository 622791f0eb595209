"""The ``rag`` command: ingest, ask, status, delete, eval, ui."""

from __future__ import annotations

import argparse
import importlib
import sys

# Subcommands living in their own packages: name -> module with add_arguments(p) and run(args).
_PLUGINS = {
    "ingest": ("rag.apps.ingest_cli", "Add articles (files or folders) to the index."),
    "eval": ("rag.apps.evaluation.cli", "Run a file of questions and score the answers."),
    "ui": ("rag.apps.ui.cli", "Start the browser chat on http://127.0.0.1:7860."),
}


def build_parser() -> argparse.ArgumentParser:
    from rag.apps import commands

    parser = argparse.ArgumentParser(prog="rag", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.register(sub)
    for name, (module, help_text) in _PLUGINS.items():
        try:
            plugin = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise
            continue  # that part is not installed in this checkout
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_plugin=module)
        plugin.add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "_plugin", None):
            return int(importlib.import_module(args._plugin).run(args) or 0)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
