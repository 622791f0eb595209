"""The core subcommands of ``rag``: ask, status, delete; and the flags every command shares."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap


def add_verbose_argument(p: argparse.ArgumentParser, top: bool = False) -> None:
    """``-v/--verbose``: show libraries' own log lines and warnings (RAG_LOG_LEVEL=debug).
    Accepted before the command (``rag -v ask``) and after it (``rag ask -v``)."""
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="also show the libraries' log lines and warnings (as RAG_LOG_LEVEL=debug)",
    )


def add_settings_arguments(p: argparse.ArgumentParser) -> None:
    """Flags shared by every command; each overrides one Settings field."""
    p.add_argument("--home", help="data directory (default .rag, or RAG_HOME)")
    p.add_argument("--collection", help="collection name (default articles)")
    add_verbose_argument(p)


def add_filter_arguments(p: argparse.ArgumentParser) -> None:
    """--source/--since/--until/--author: search only a slice of the archive."""
    p.add_argument("--source", help="only articles of this site (e.g. reuters.com) or source")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="only articles dated on or after")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="only articles dated on or before")
    p.add_argument("--author", help="only articles by this author (exact name)")


def filters_from(args: argparse.Namespace) -> dict:
    return {k: getattr(args, k, None) for k in ("source", "since", "until", "author")}


def whole_number(low: int, high: int | None = None):
    """An argparse ``type`` for a whole number within limits; its error names what is
    accepted (``--port abc: must be a whole number from 1 to 65535``).

    >>> whole_number(1, 65535)("80"), whole_number(1)("7")
    (80, 7)
    """
    accepted = f"from {low} to {high}" if high is not None else f"≥ {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text}: must be a whole number {accepted}")
        return value

    return parse


def flag_of(field: str) -> str:
    """>>> flag_of("top_k")
    '--top-k'
    """
    return "--" + field.replace("_", "-")


def settings_from(args: argparse.Namespace, **extra):
    """The settings read at start-up (``args.settings``, else the environment) with the
    command's flags applied; a bad flag value is one ``ConfigError`` naming the flag."""
    from rag.errors import ConfigError
    from rag.settings import resolve

    flags = {k: getattr(args, k, None) for k in ("home", "collection")} | extra
    try:
        return resolve(getattr(args, "settings", None), **flags)
    except ConfigError as exc:
        if flags.get(exc.field) is not None:
            raise exc.relabel(flag_of(exc.field)) from None
        raise


def filters_of(args: argparse.Namespace):
    """The --source/--since/--until/--author filters, checked (a bad date names its flag)."""
    from rag.api import make_filters
    from rag.errors import ConfigError

    try:
        return make_filters(**filters_from(args))
    except ConfigError as exc:
        raise exc.relabel(flag_of(exc.field)) from None


def ingest_hint(settings) -> str:
    """The command that fills this home and collection, with the user's own flags.

    >>> from rag.settings import Settings
    >>> ingest_hint(Settings(home="/data/news", collection="world"))
    'rag ingest --home /data/news --collection world <folder>'
    """
    import shlex

    parts = ["rag", "ingest"]
    if str(settings.home) != ".rag":
        parts += ["--home", shlex.quote(str(settings.home))]
    if settings.collection != "articles":
        parts += ["--collection", settings.collection]
    return " ".join(parts) + " <folder>"


CORE = ("ask", "status", "delete")  # registered here; other packages add the rest


def register(sub) -> None:
    ask = sub.add_parser("ask", help="Answer a question from the indexed articles.")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the Answer as JSON")
    ask.add_argument("--top-k", metavar="N", help="passages to retrieve (1-50)")
    ask.add_argument("--retrieval", choices=["dense", "bm25", "hybrid"])
    add_filter_arguments(ask)
    add_settings_arguments(ask)
    ask.set_defaults(func=cmd_ask)

    st = sub.add_parser("status", help="Show articles, chunks, models and the data directory.")
    st.add_argument("--json", action="store_true")
    st.add_argument(
        "--repair",
        action="store_true",
        help="remove what an interrupted ingest or delete left (then re-ingest what it lists)",
    )
    add_settings_arguments(st)
    st.set_defaults(func=cmd_status)

    de = sub.add_parser("delete", help="Remove an article (by source path, URL, title or id).")
    de.add_argument("source")
    add_settings_arguments(de)
    de.set_defaults(func=cmd_delete)


def format_answer(answer) -> str:
    """Human-readable answer (its claims with their ``[n]`` markers, wrapped) with its
    numbered sources, each listed once with the quoted sentence."""
    lines = [textwrap.fill(answer.text, width=88, break_long_words=False)]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
    for c in answer.citations:
        lines.append(f"[{c.number}] {c.title} — {c.source} (chars {c.start}-{c.end})")
        quote = textwrap.fill(c.quote, width=88, initial_indent="    “", subsequent_indent="     ")
        lines.append(quote + "”")
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.api import answer, preload
    from rag.errors import NotFound

    settings = settings_from(args, top_k=args.top_k, retrieval=args.retrieval)
    filters_of(args)  # a bad --since names its flag before any model loads
    from rag import registry

    loading = preload(settings)  # the models load on the other core meanwhile
    try:
        store = registry.open_store(settings)
        if not store.exists() or not store.count_chunks():  # exists() creates nothing
            where = f"{store.location()} (collection {settings.collection})"
            raise NotFound(f"no articles in {where}; run: {ingest_hint(settings)}")
        result = answer(args.question, settings=settings, **filters_from(args))
    finally:
        loading.join()
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(result))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from rag.api import repair, status
    from rag.text import plural

    settings = settings_from(args)
    if args.repair:
        found = repair(settings)
        for p in found.uncommitted:
            print(f"removed {p.n_chunks} uncommitted chunks of {p.source}")
        for p in found.incomplete:
            print(
                f"removed incomplete article ({p.n_chunks} of {plural(p.expected, 'chunk')}) "
                f"{p.source}; "
                "ingest it again to restore it"
            )
        if found.ok:
            print("nothing to repair")
    st = status(settings, check=True)
    if args.json:
        print(json.dumps(asdict(st), indent=2))
        return 0
    print(f"data directory : {st.data_dir}")
    print(f"collection     : {st.collection}")
    print(f"articles       : {st.n_articles}")
    print(f"chunks         : {st.n_chunks}")
    print(f"retrieval      : {st.retrieval}")
    print(f"embedding model: {st.embedding_model}")
    built = st.index_embedding_model or "not recorded yet (recorded on the next ingest)"
    print(f"index built by : {built}")
    print(f"language model : {st.llm_model}")
    for info in st.articles:
        print(f"  - {info.title} ({plural(info.n_chunks, 'chunk')}) {info.source}")
    for p in st.uncommitted:
        print(
            f"uncommitted    : {plural(p.n_chunks, 'chunk')} of {p.source} (never used for answers)"
        )
    for p in st.incomplete:
        print(f"incomplete     : {p.source} has {p.n_chunks} of {plural(p.expected, 'chunk')}")
    if st.uncommitted or st.incomplete:
        print("partial state  : an ingest or delete was interrupted; run `rag status --repair`")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from rag.api import delete
    from rag.text import plural

    removed = delete(args.source, settings=settings_from(args))
    if not removed:
        print(f"rag: no stored article matches {args.source!r}", file=sys.stderr)
        return 1
    for info in removed:
        print(f"removed: {info.title} ({plural(info.n_chunks, 'chunk')}) {info.source}")
    return 0
