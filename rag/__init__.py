"""Offline question answering over your articles, with verifiable citations.

>>> from rag import answer
>>> a = answer("How much does SoftBank pay OpenAI?")   # doctest: +SKIP
>>> a.text, a.citations[0].quote                       # doctest: +SKIP
"""

from rag.api import Status, answer, article_text, delete, ingest, status, stream_answer
from rag.records import ABSTAIN_TEXT, Answer, ArticleInfo, Citation, IngestResult, Passage
from rag.settings import Settings

__all__ = [
    "ABSTAIN_TEXT",
    "Answer",
    "ArticleInfo",
    "Citation",
    "IngestResult",
    "Passage",
    "Settings",
    "Status",
    "answer",
    "article_text",
    "delete",
    "evaluate",
    "ingest",
    "status",
    "stream_answer",
]


def evaluate(*args, **kwargs):
    """Run questions through the assistant and score them; see ``rag.evaluation.evaluate``."""
    from rag.evaluation import evaluate as _evaluate

    return _evaluate(*args, **kwargs)
