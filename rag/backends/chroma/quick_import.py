"""Importing chromadb, minus work done only for its own developers.

chromadb marks about 160 methods with ``overrides.override``, which, while chromadb is being
imported, inspects the caller's bytecode and checks each signature against the base class's:
about a sixth of chromadb's import, paid by every ``rag ask``. While chromadb imports, the
decorator only marks the method (as it does after a successful check); elsewhere it is left
alone.
"""

from __future__ import annotations

import contextlib
import sys
import threading

_lock = threading.Lock()


def _mark(method=None, **_options):
    if method is None:  # used as @override(check_signature=False)
        return _mark
    with contextlib.suppress(AttributeError):  # what the real decorator sets
        method.__override__ = True
    return method


def import_chromadb():
    """``import chromadb``, without ``overrides``' signature checks (see the module doc)."""
    if "chromadb" in sys.modules:
        return sys.modules["chromadb"]
    with _lock:
        try:
            import overrides
        except ImportError:  # a chromadb without it: nothing to skip
            import chromadb

            return chromadb
        saved = overrides.override, overrides.overrides
        overrides.override = overrides.overrides = _mark
        try:
            import chromadb
        finally:
            overrides.override, overrides.overrides = saved
        return chromadb
