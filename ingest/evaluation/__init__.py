"""Batch evaluation: run a file of questions through the assistant and score the answers.

>>> from ingest.evaluation import evaluate                                  # doctest: +SKIP
>>> result = evaluate("corpus/questions.jsonl", out_dir="eval-out")     # doctest: +SKIP
>>> result.summary["f1"], result.rows[0]["answer"]                     # doctest: +SKIP
"""

from ingest.evaluation.datasets import Question, load_dataset
from ingest.evaluation.runner import EvalResult, evaluate

__all__ = ["EvalResult", "Question", "evaluate", "load_dataset"]
