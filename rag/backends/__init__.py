"""Backends behind the protocols of ``rag.protocols``, chosen by ``rag.registry``."""

import sys

from rag.errors import Unavailable


def missing_package(package: str, extra: str = "") -> Unavailable:
    """The error for a backend whose package is not installed."""
    return Unavailable(
        f"the package '{package}' is not installed; run scripts/setup.sh "
        f"(or pip install {package}){extra}"
    )


def langchain_embeddings(embedder: type, module: str, name: str) -> type:
    """``embedder`` (a class of the ``Embedder`` protocol) as a LangChain ``Embeddings``
    subclass named ``name`` in ``module``, made once, on first use.

    The answering path needs only the protocol, and importing LangChain's ``Embeddings``
    pulls in its callbacks and messages: a cost every cold ``rag ask`` and ``rag status``
    would pay (bench/RESULTS.md). So a backend module offers its LangChain class through its
    ``__getattr__``, and the registry builds the plain one."""
    from langchain_core.embeddings import Embeddings

    namespace = vars(sys.modules[module])
    if name not in namespace:
        doc = f"``{embedder.__name__}`` as a LangChain ``Embeddings`` (``aembed_*`` included)."
        namespace[name] = type(name, (embedder, Embeddings), {"__module__": module, "__doc__": doc})
    return namespace[name]
