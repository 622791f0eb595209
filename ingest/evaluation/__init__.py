"""Batch evaluation: run a file of questions through the assistant and score the answers.

>>> from ingest.evaluation import evaluate                                  # doctest: +SKIP
>>> result = evaluate("corpus/questions.jsonl", out_dir="eval-out")     # doctest: +SKIP
>>> result.summary["f1"], result.rows[0]["answer"]                     # doctest: +SKIP
"""

from __future__ import annotations

import importlib

# Names load on first use: ``rag --help`` imports this package's command, not the runner.
_EXPORTS = {
    "EvalResult": "ingest.evaluation.runner",
    "evaluate": "ingest.evaluation.runner",
    "Question": "ingest.evaluation.datasets",
    "load_dataset": "ingest.evaluation.datasets",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ingest.evaluation' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
