"""``rag ui``: serve the browser chat (http://127.0.0.1:7860 by default)."""

from __future__ import annotations

import argparse
import sys

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from rag.apps.commands import add_settings_arguments

    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument(
        "--auth",
        metavar="USER:PASSWORD",
        help="require this login; use it whenever --host is not 127.0.0.1",
    )
    add_settings_arguments(p)
    p.add_argument(
        "--no-warm-up", action="store_true", help="do not load the models before serving"
    )


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``user:password`` -> (user, password); the password may contain colons.

    >>> parse_auth("ann:s3cret:x")
    ('ann', 's3cret:x')
    >>> parse_auth(None) is None
    True
    """
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("--auth: expected USER:PASSWORD, e.g. --auth ann:s3cret")
    return user, password


def run(args: argparse.Namespace) -> int:
    from rag.apps.commands import settings_from
    from rag.apps.ui.app import launch, require_gradio

    require_gradio()  # one line naming the extra to install if gradio is missing
    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port: {args.port} is not a port number (1-65535)")
    auth = parse_auth(args.auth)
    settings = settings_from(args)
    if args.host not in LOOPBACK and auth is None:
        print(
            f"warning: serving on {args.host} without --auth: anyone who can reach this "
            "machine can ask questions, upload and remove articles",
            file=sys.stderr,
        )
    launch(settings, host=args.host, port=args.port, auth=auth, warm_up=not args.no_warm_up)
    return 0
