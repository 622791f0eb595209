"""The ``rag`` command.

``rag`` registers its own subcommands (ask, status, delete) from ``rag.commands``; every
other package contributes its subcommands through the ``rag.commands`` entry-point group, as
simonw/llm's plugins do: an entry point names a ``register(subparsers)`` function that adds
parsers whose defaults set ``func(args) -> exit status``. So this layer imports nothing from
the packages built on it (``ingest``, ``ui``); see ``[project.entry-points."rag.commands"]``
in pyproject.toml.

Every failure is one line on stderr. A ``RagError`` (a bad setting, a missing index, a
server that is down) says what to do; anything else is a bug, whose traceback goes to the
log file named in its line (``rag.logs``).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from importlib.metadata import entry_points
from pathlib import Path

GROUP = "rag.commands"
EXIT_USAGE = 2  # the user's error: a bad setting, argument or input
EXIT_BUG = 70  # EX_SOFTWARE: an internal error


class Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (no usage block)."""

    def error(self, message: str):
        message = " ".join(message.split()).removeprefix("argument ")
        message = re.sub(r"^(-[-\w/]+): (\S+: must )", r"\1 \2", message)  # --port 0: must
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}; see {self.prog} --help\n")


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


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; for one of ``rag``'s own commands (``rag ask …``) the other
    packages' commands are not looked up (a cold ``rag ask`` skips that scan)."""
    from rag import commands

    parser = Parser(
        prog="rag", description="Ask your articles; every answer cites the sentence it rests on."
    )
    commands.add_verbose_argument(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.register(sub)
    words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
    if not words or words[0] not in commands.CORE:
        for register in plugin_registrars():
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser(argv).parse_args(argv)  # ``--help`` ends here, before the heavy imports
    from rag import logs
    from rag.errors import RagError

    settings = None
    try:
        from rag.settings import resolve

        args.settings = settings = resolve()  # the environment, read once
        check_environment(os.environ)
        logs.configure("debug" if args.verbose else settings.log_level, log_path(args, settings))
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (``rag status | head``): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except RagError as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the machine's: a full disk, a folder we may not write
        logging.getLogger("rag.cli").debug("%s", exc, exc_info=exc)
        print(f"rag: error: {os_error_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        where = logs.record_bug(exc, log_path(args, settings))
        print(f"rag: error: {logs.bug_line(exc, where)}", file=sys.stderr)
        return EXIT_BUG


def check_environment(environ) -> None:
    """A ``RAG_*`` variable that is no setting but nearly one is a typo: one line naming it.

    >>> check_environment({"RAG_TOPK": "3"})
    Traceback (most recent call last):
    rag.errors.ConfigError: RAG_TOPK=3: RAG_TOPK is not a setting; did you mean RAG_TOP_K?
    """
    import difflib

    from rag.errors import ConfigError
    from rag.settings import ENV_PREFIX, Settings

    known = [ENV_PREFIX + name.upper() for name in Settings.model_fields]
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
        if close:
            accepted = f"is not a setting; did you mean {close[0]}?"
            raise ConfigError(name, environ[name], accepted, label=name)


def log_path(args: argparse.Namespace, settings) -> Path | None:
    """Where a bug's traceback goes: RAG_LOG_FILE, else the logs folder of the home in use
    (``--home`` when given)."""
    if settings is None:
        return None
    home = getattr(args, "home", None)
    if settings.log_file is None and home:
        return Path(home).expanduser() / "logs" / "rag.log"
    return settings.log_path


def os_error_line(exc: OSError) -> str:
    """>>> os_error_line(PermissionError(13, "Permission denied", "/data/.rag"))
    'Permission denied: /data/.rag'
    >>> os_error_line(FileNotFoundError("q.jsonl: no such question file"))
    'q.jsonl: no such question file'
    """
    if exc.strerror and exc.filename:
        return f"{exc.strerror}: {exc.filename}"
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
