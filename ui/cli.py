"""``rag ui``: serve the browser chat."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    from rag.commands import add_settings_arguments

    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--auth", metavar="USER:PASSWORD", help="require a login (use when exposed)")
    add_settings_arguments(p)


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``user:password`` -> (user, password).

    >>> parse_auth("ann:s3cret:x")
    ('ann', 's3cret:x')
    """
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("--auth: expected USER:PASSWORD")
    return user, password


def run(args: argparse.Namespace) -> int:
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise RuntimeError("the UI needs gradio: pip install -e '.[ui]'") from None
    from rag.commands import settings_from
    from ui.app import launch

    auth = parse_auth(args.auth)
    if args.host not in ("127.0.0.1", "localhost", "::1") and auth is None:
        print(f"warning: serving on {args.host} without --auth; anyone who can reach it can ask")
    launch(settings_from(args), host=args.host, port=args.port, auth=auth)
    return 0
