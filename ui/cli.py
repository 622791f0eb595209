"""``rag ui``: serve the browser chat (http://127.0.0.1:7860 by default)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rag.errors import InputError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


HELP = "Start the browser chat on http://127.0.0.1:7860."


def register(sub) -> None:
    """Add ``rag ui`` (the ``rag.commands`` entry point)."""
    p = sub.add_parser("ui", help=HELP, description=HELP)
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from rag.commands import add_settings_arguments, whole_number

    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=whole_number(1, 65535), default=7860, help="port (default 7860)")
    p.add_argument(
        "--auth",
        metavar="USER:PASSWORD",
        help="require this login; use it whenever --host is not 127.0.0.1",
    )
    p.add_argument("--ssl-keyfile", metavar="FILE", help="serve HTTPS with this private key (PEM)")
    p.add_argument(
        "--ssl-certfile", metavar="FILE", help="serve HTTPS with this certificate chain (PEM)"
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
        raise InputError("--auth: expected USER:PASSWORD, e.g. --auth ann:s3cret")
    return user, password


def check_tls(keyfile: str | None, certfile: str | None) -> tuple[str | None, str | None]:
    """Both TLS files or neither, and readable: (keyfile, certfile) as given."""
    if bool(keyfile) != bool(certfile):
        missing = "--ssl-certfile" if keyfile else "--ssl-keyfile"
        raise InputError(f"{missing}: needed too (give --ssl-keyfile and --ssl-certfile)")
    for flag, path in (("--ssl-keyfile", keyfile), ("--ssl-certfile", certfile)):
        if path and not Path(path).expanduser().is_file():
            raise InputError(f"{flag}: no such file {path}")
    return keyfile, certfile


def exposure_warnings(host: str, auth: object, tls: bool) -> list[str]:
    """What to tell the user about serving on ``host`` with or without a login and TLS.

    >>> exposure_warnings("127.0.0.1", None, False)
    []
    >>> [w.split(":")[0] for w in exposure_warnings("0.0.0.0", ("a", "b"), False)]
    ['warning']
    """
    if host in LOOPBACK:
        return []
    warnings = []
    if auth is None:
        warnings.append(
            f"warning: serving on {host} without --auth: anyone who can reach this "
            "machine can ask questions, upload and remove articles"
        )
    if not tls:
        warnings.append(
            f"warning: serving on {host} over plain HTTP: "
            + ("the login password and " if auth else "")
            + "every question and answer cross the network unencrypted; give --ssl-keyfile "
            "and --ssl-certfile, or put a TLS reverse proxy in front (see the README)"
        )
    return warnings


def run(args: argparse.Namespace) -> int:
    from rag.commands import settings_from
    from ui.app import launch, require_gradio

    require_gradio()  # one line naming the extra to install if gradio is missing
    auth = parse_auth(args.auth)
    keyfile, certfile = check_tls(args.ssl_keyfile, args.ssl_certfile)
    settings = settings_from(args)
    for warning in exposure_warnings(args.host, auth, tls=bool(keyfile)):
        print(warning, file=sys.stderr)
    launch(
        settings,
        host=args.host,
        port=args.port,
        auth=auth,
        ssl_keyfile=keyfile,
        ssl_certfile=certfile,
        warm_up=not args.no_warm_up,
    )
    return 0
