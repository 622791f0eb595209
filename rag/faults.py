"""Test-only crash points. ``RAG_TEST_KILL_AT=<point>:<n>`` makes the process SIGKILL itself
the n-th time it reaches ``kill_point("<point>")``; unset (always, outside the reliability
tests), a kill point is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_spec = os.environ.get("RAG_TEST_KILL_AT", "")
_point, _, _n = _spec.rpartition(":")
_target = int(_n) if _point and _n.isdigit() else 0
_seen: dict[str, int] = {}


def kill_point(name: str) -> None:
    if not _target or name != _point:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] == _target:
        os.kill(os.getpid(), signal.SIGKILL)
