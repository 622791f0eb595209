"""The project's errors: a ``RagError`` is the user's to fix (a bad setting, a question too
long, a server that is down), and its message is one line that says what to do. Any other
exception is a bug in this program: interfaces show one line saying so and keep the
traceback in the log (``rag.logs``).

Each subclass also derives from the built-in exception it used to be, so ``except
ValueError`` keeps working.

>>> issubclass(ConfigError, RagError) and issubclass(ConfigError, ValueError)
True
>>> str(ConfigError("top_k", "abc", "must be a whole number ≥ 1", label="RAG_TOP_K"))
'RAG_TOP_K=abc: top_k must be a whole number ≥ 1'
>>> is_users_error(InputError("question: empty")), is_users_error(KeyError("x"))
(True, False)
"""

from __future__ import annotations


class RagError(Exception):
    """A problem the user can fix; ``str(error)`` is one line naming what and how."""

    def __str__(self) -> str:
        return " ".join(super().__str__().split())


class ConfigError(RagError, ValueError):
    """A setting (``RAG_*`` variable, CLI flag or keyword) with a value it cannot take.

    ``label`` is how the user gave it (``RAG_TOP_K``, ``--top-k``, ``top_k``); secrets are
    shown as ``***``."""

    def __init__(
        self,
        field: str,
        value: object,
        accepted: str,
        *,
        label: str | None = None,
        secret: bool = False,
    ):
        self.field, self.value, self.accepted = field, value, accepted
        self.label = label or field
        self.secret = secret
        super().__init__(self.message())

    def message(self) -> str:
        shown = "***" if self.secret else _short(self.value)
        given = f"{self.label} {shown}" if self.label.startswith("--") else f"{self.label}={shown}"
        return f"{given}: {self.field} {self.accepted}"

    def relabel(self, label: str) -> ConfigError:
        """The same error, naming the setting as the user gave it (e.g. a CLI flag)."""
        return ConfigError(self.field, self.value, self.accepted, label=label, secret=self.secret)


class InputError(RagError, ValueError):
    """A question, filter, file or argument the program cannot take as given."""


class NotFound(RagError, FileNotFoundError):
    """Something the user named (a file, an article, an index) is not there."""


class Unavailable(RagError, RuntimeError):
    """A model, server, lock or package this run needs cannot be used right now."""


def is_users_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the user's to fix (one line) rather than a bug (a traceback)."""
    return isinstance(exc, RagError)


def _short(value: object, limit: int = 80) -> str:
    """A value as shown in an error: on one line, cut to ``limit`` characters.

    >>> _short("a\\nb"), _short("x" * 100)[-3:]
    ('a b', 'xx…')
    """
    text = " ".join(str(value).split()) if str(value).strip() else repr(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"
