"""The one registry of backends: ``Settings`` names an embedder, a generator and a store.

Built backends are kept once per process and per configuration, so models load once.
A backend module is imported only when it is chosen; another package can add its own
with ``register("generator", "name", factory)``.

>>> sorted(BACKENDS["store"])  # rag.backend_table
['chroma', 'memory']
"""

from __future__ import annotations

import hashlib
import importlib
import threading
from collections.abc import Callable

from pydantic import SecretStr

from rag.backend_table import BACKENDS
from rag.errors import ConfigError
from rag.protocols import Embedder, Generator, Store
from rag.settings import Settings

# The settings fields (by prefix) that make one built backend differ from another.
_FIELDS = {
    "embedder": ("embed",),
    "generator": ("generator", "llm_", "n_ctx", "n_threads"),
}
_cache: dict[tuple, object] = {}
_lock = threading.Lock()


def register(kind: str, name: str, factory: str | Callable[[Settings], object]) -> None:
    """Add a backend: ``factory(settings)`` builds it (or ``"module:function"`` does)."""
    if kind not in BACKENDS:
        raise ValueError(f"unknown backend kind {kind!r}; one of {sorted(BACKENDS)}")
    BACKENDS[kind][name] = factory


def _factory(kind: str, name: str) -> Callable[[Settings], object]:
    try:
        factory = BACKENDS[kind][name]
    except KeyError:
        choices = ", ".join(sorted(BACKENDS[kind]))
        raise ConfigError(kind, name, f"must be one of {choices}") from None
    if isinstance(factory, str):
        module, _, function = factory.partition(":")
        factory = getattr(importlib.import_module(module), function)
    return factory


def _key(value: object) -> str:
    """A cache key part; a secret's value counts (its repr hides it)."""
    if isinstance(value, SecretStr):
        return "secret:" + hashlib.sha256(value.get_secret_value().encode()).hexdigest()
    return repr(value)


def _cached(kind: str, settings: Settings):
    fields = tuple((k, _key(v)) for k, v in settings if k.startswith(_FIELDS[kind]))
    key = (kind, fields)
    with _lock:
        if key not in _cache:
            _cache[key] = _factory(kind, getattr(settings, kind))(settings)
        return _cache[key]


def load_embedder(settings: Settings) -> Embedder:
    """The process's embedder for these settings."""
    return _cached("embedder", settings)


def load_generator(settings: Settings) -> Generator:
    """The process's generator for these settings."""
    return _cached("generator", settings)


def open_store(settings: Settings, collection: str | None = None) -> Store:
    """A store over ``collection`` (default ``settings.collection``); cheap, opens lazily."""
    return _factory("store", settings.store)(settings, collection)


def describe(kind: str, settings: Settings) -> str:
    """What would be loaded, without loading it (for ``rag status``)."""
    name = getattr(settings, kind)
    try:
        module = importlib.import_module(str(BACKENDS[kind][name]).partition(":")[0])
        return f"{name}: {module.describe(settings)}"
    except Exception as exc:  # shown, not raised: status must work without models
        return f"{name}: unavailable ({' '.join(str(exc).split())})"
