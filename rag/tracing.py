"""LangChain tracing of the assistant's steps: inside a LangChain run (``AnswerChain.invoke(…,
config={"callbacks": […]})``, or any Runnable that calls the assistant), retrieval is a
retriever run (``rag.retriever.ArticleRetriever``) and each generation an LLM run (start,
each token, end or error), with the run's tags and metadata. Outside one, nothing of
LangChain is imported or called.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any

from rag.lexical import Filters
from rag.protocols import DEFAULT_STOP, GenerationStats, Generator
from rag.records import Passage
from rag.retrieval import PassageRetriever


def in_langchain_run() -> bool:
    """Whether a LangChain Runnable is running this code (its config is in the context).

    >>> in_langchain_run()
    False
    """
    config = sys.modules.get("langchain_core.runnables.config")  # not loaded: no run
    return config is not None and config.var_child_runnable_config.get() is not None


def traced_retrieve(
    retriever: PassageRetriever,
    text: str,
    *,
    k: int | None = None,
    filters: Filters | None = None,
    vector: Sequence[float] | None = None,
) -> list[Passage]:
    """``retriever.retrieve(...)``, as a retriever run of the LangChain run it is part of."""
    if not in_langchain_run():
        return retriever.retrieve(text, k=k, filters=filters, vector=vector)
    from rag.retriever import ArticleRetriever, passage_of

    found = ArticleRetriever.of(retriever).invoke(
        text, k=k, filters=filters, embedding=None if vector is None else list(vector)
    )
    return [passage_of(document) for document in found]


def traced_stream(
    llm: Generator,
    prompt: str,
    *,
    max_tokens: int = 32,
    stop: Sequence[str] = DEFAULT_STOP,
    copy_from: Sequence[str] | None = None,
    stats: GenerationStats | None = None,
    system: str | None = None,
    cite: int = 0,
) -> Iterator[str]:
    """``llm.stream(...)``, reported to the callbacks of the LangChain run it is part of."""
    stats = stats if stats is not None else GenerationStats()
    pieces = llm.stream(
        prompt,
        max_tokens=max_tokens,
        stop=stop,
        copy_from=copy_from,
        stats=stats,
        system=system,
        cite=cite,
    )
    if not in_langchain_run():
        yield from pieces
        return
    from langchain_core.callbacks import CallbackManager
    from langchain_core.runnables.config import ensure_config

    config = ensure_config()
    manager = CallbackManager.configure(
        config.get("callbacks"),
        inheritable_tags=config.get("tags"),
        inheritable_metadata=config.get("metadata"),
    )
    invocation: dict[str, Any] = {"max_tokens": max_tokens, "stop": list(stop)}
    if copy_from is not None:
        invocation["copy_from"] = list(copy_from)
    if system is not None:
        invocation["system"] = system
    if cite:
        invocation["cite"] = cite
    (run,) = manager.on_llm_start(
        {"name": llm.name}, [prompt], name=llm.name, invocation_params=invocation
    )
    text: list[str] = []
    try:
        for piece in pieces:
            run.on_llm_new_token(piece)
            text.append(piece)
            yield piece
    except GeneratorExit:  # the caller stopped reading (e.g. it abstains): a normal end
        _end(run, text, stats)
        raise
    except BaseException as exc:
        run.on_llm_error(exc)
        raise
    _end(run, text, stats)


def _end(run, text: list[str], stats: GenerationStats) -> None:
    from langchain_core.outputs import Generation, LLMResult

    usage = {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "copy_prob": stats.copy_prob,
    }
    run.on_llm_end(LLMResult(generations=[[Generation(text="".join(text))]], llm_output=usage))
