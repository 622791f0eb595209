"""Progress: a bar on a terminal; in a log (a file, a pipe) a line per step instead of a bar
redrawn with carriage returns.

>>> import io
>>> out = io.StringIO()
>>> p = progress(40, "eval", "question", stream=out, steps=4)
>>> for _ in range(40):
...     p.update(1)
>>> p.close()
>>> print(out.getvalue().strip())
eval: 10/40 questions (25%)
eval: 20/40 questions (50%)
eval: 30/40 questions (75%)
eval: 40/40 questions (100%)
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rag.text import plural


class LineProgress:
    """``update``/``close`` as tqdm's, writing one line each time another ``1/steps`` of the
    total is done (and at the end)."""

    def __init__(self, total: int, desc: str, unit: str, stream: TextIO, steps: int = 20):
        self.total, self.desc, self.unit, self.stream = total, desc, unit, stream
        self.every = max(1, -(-total // max(1, steps)))  # ceil(total / steps)
        self.n = 0
        self._shown = 0
        self.started = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n - self._shown >= self.every or (self.total and self.n >= self.total):
            self._line()

    def _line(self) -> None:
        if self.n == self._shown:
            return
        self._shown = self.n
        pct = f" ({100 * self.n // self.total}%)" if self.total else ""
        count = (
            f"{self.n:,}/{plural(self.total, self.unit)}"
            if self.total
            else plural(self.n, self.unit)
        )
        print(f"{self.desc}: {count}{pct}", file=self.stream, flush=True)

    def close(self) -> None:
        self._line()


class _Off:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress(
    total: int,
    desc: str,
    unit: str,
    *,
    enabled: bool = True,
    stream: TextIO | None = None,
    steps: int = 20,
):
    """A tqdm bar when ``stream`` (default stderr) is a terminal, else a ``LineProgress``;
    nothing when not ``enabled``."""
    stream = stream or sys.stderr
    if not enabled:
        return _Off()
    if stream.isatty():
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, file=stream, dynamic_ncols=True)
    return LineProgress(total, desc, unit, stream, steps)
