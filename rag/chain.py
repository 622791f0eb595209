"""The assistant as a LangChain ``Runnable``: ``invoke``, ``stream``, ``batch`` and their
async forms take a question (a string, or a dict with ``question``, ``history`` and
``filters``) and return our ``Answer``.

A ``RunnableConfig``'s callbacks, tags and metadata reach the steps: retrieval is reported
as a retriever run (``ArticleRetriever``) and generation as an LLM run, both children of
the chain's run, so LangChain tracing (a callback handler, LangSmith) sees each step.

    >>> from rag import AnswerChain                                   # doctest: +SKIP
    >>> chain = AnswerChain.from_settings()                           # doctest: +SKIP
    >>> chain.invoke("How much does SoftBank pay OpenAI?").text      # doctest: +SKIP
    '$3 billion (£2.4bn) [1]'
    >>> chain.invoke({"question": "How many people will it hire?",  # doctest: +SKIP
    ...               "history": [("How much does SoftBank pay OpenAI?", "$3 billion [1]")],
    ...               "filters": {"since": "2024-01-01"}})

``stream`` yields the answer's text pieces as they are generated, then the ``Answer``
(as ``rag.stream_answer``); a step after the chain in an LCEL sequence receives the
``Answer``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig, RunnableSerializable
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field

from rag.errors import InputError
from rag.lexical import Filters
from rag.records import Answer
from rag.settings import Settings

_QUESTION_KEYS = ("question", "input", "query")
_ROLES = {"human": "user", "ai": "assistant"}


def parse_input(value: Any) -> tuple[str, list | None, Filters | None]:
    """(question, history, filters) of a chain input: a string, or a dict with ``question``
    (or ``input``, ``query``), ``history`` (pairs, role/content dicts or LangChain messages)
    and ``filters`` (a dict or ``Filters``; or ``source``, ``since``, ``until``, ``author``
    at the top level).

    >>> parse_input("Who?")
    ('Who?', None, None)
    >>> question, history, filters = parse_input(
    ...     {"input": "Why?", "history": [("Who?", "Ann [1].")], "source": "bbc.co.uk"})
    >>> question, history, filters.source
    ('Why?', [('Who?', 'Ann [1].')], 'bbc.co.uk')
    >>> parse_input({"text": "Why?"})
    Traceback (most recent call last):
    ...
    rag.errors.InputError: input: expected a question string or a dict with 'question' (got ...
    """
    if isinstance(value, str):
        return value, None, None
    if not isinstance(value, dict):
        raise InputError(f"input: expected a question string or a dict, got {type(value).__name__}")
    key = next((k for k in _QUESTION_KEYS if k in value), None)
    if key is None:
        keys = ", ".join(sorted(map(str, value))) or "none"
        raise InputError(
            f"input: expected a question string or a dict with 'question' (got keys {keys})"
        )
    slice_ = {k: value[k] for k in ("source", "since", "until", "author") if k in value}
    filters = Filters.of(value.get("filters"), **slice_)
    return value[key], _history(value.get("history")), filters


def _history(turns: Sequence | None) -> list | None:
    """Turns as the pipeline reads them; LangChain messages become role/content dicts."""
    if not turns:
        return None
    return [
        {"role": _ROLES.get(turn.type, turn.type), "content": turn.content}
        if isinstance(turn, BaseMessage)
        else turn
        for turn in turns
    ]


class AnswerChain(RunnableSerializable[Any, Answer]):
    """Question in, ``Answer`` out: retrieve, select evidence, generate, ground, cite."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    assistant: Any = Field(description="a rag.pipeline.Assistant")
    name: str | None = "AnswerChain"

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> AnswerChain:
        """The chain over the process's assistant for these settings (the environment's when
        None; ``overrides`` are Settings fields), sharing its models with ``rag.answer``."""
        from rag.api import get_assistant

        return cls(assistant=get_assistant(settings, **overrides))

    # ----- one answer -------------------------------------------------------------------
    def _answer(self, value: Any) -> Answer:
        question, history, filters = parse_input(value)
        return self.assistant.answer(question, history, filters)

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Answer:
        return self._call_with_config(self._answer, input, config, **kwargs)

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Answer:
        return await run_in_executor(config, self.invoke, input, config, **kwargs)

    # ----- streaming ----------------------------------------------------------------------
    def _pieces(self, inputs: Iterator[Any]) -> Iterator[str | Answer]:
        value = None
        for item in inputs:  # a streamed input: the last one is the question
            value = item
        question, history, filters = parse_input(value)
        yield from self.assistant.stream_answer(question, history, filters)

    def transform(
        self, input: Iterator[Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[str | Answer]:
        yield from self._transform_stream_with_config(input, self._pieces, config, **kwargs)

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[str | Answer]:
        yield from self.transform(iter([input]), config, **kwargs)

    async def _apieces(self, inputs: AsyncIterator[Any]) -> AsyncIterator[str | Answer]:
        value = None
        async for item in inputs:
            value = item
        pieces = self._pieces(iter([value]))
        done = object()
        while True:  # each step in a worker thread: the event loop is never blocked
            piece = await run_in_executor(None, next, pieces, done)
            if piece is done:
                return
            yield piece

    async def atransform(
        self, input: AsyncIterator[Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[str | Answer]:
        async for piece in self._atransform_stream_with_config(
            input, self._apieces, config, **kwargs
        ):
            yield piece

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[str | Answer]:
        async def one() -> AsyncIterator[Any]:
            yield input

        async for piece in self.atransform(one(), config, **kwargs):
            yield piece
