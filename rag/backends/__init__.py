"""Backends behind the protocols of ``rag.protocols``, chosen by ``rag.registry``."""


def missing_package(package: str, extra: str = "") -> RuntimeError:
    """The error for a backend whose package is not installed."""
    return RuntimeError(
        f"the package '{package}' is not installed; run scripts/setup.sh "
        f"(or pip install {package}){extra}"
    )
