"""Showing names that come from outside (file names, sources, titles) safely on one line.

A file name may hold a newline (which would split one line of ``rag ingest`` output in
two), a terminal escape sequence, or a right-to-left override (which shows the rest of the
line reversed: ``report‮fdp.txt`` reads as ``reporttxt.pdf``). ``printable`` writes such
characters as visible escapes; every command and the browser UI show names through it.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, line and paragraph separators, and the bidirectional controls
# (embeddings, overrides, isolates and marks).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def printable(text: object) -> str:
    """``text`` with control and bidirectional characters written as escapes.

    >>> printable("notes\\nfailed: other.txt")
    'notes\\\\nfailed: other.txt'
    >>> printable("report\\u202efdp.txt")
    'report\\\\u202efdp.txt'
    >>> printable("\\x1b[31mred")
    '\\\\x1b[31mred'
    >>> printable("café — naïve 日本")
    'café — naïve 日本'
    """
    return _UNSAFE.sub(_escape, str(text))
