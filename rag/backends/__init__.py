"""Backends behind the protocols of ``rag.protocols``, chosen by ``rag.registry``."""

from rag.errors import Unavailable


def missing_package(package: str, extra: str = "") -> Unavailable:
    """The error for a backend whose package is not installed."""
    return Unavailable(
        f"the package '{package}' is not installed; run scripts/setup.sh "
        f"(or pip install {package}){extra}"
    )
