"""Answers a model writes in its own words (``Generator.free_text``, e.g. ``RAG_GENERATOR=
openai``): it reads numbered passages and cites them; the user sees only the claims that
the claim check (``rag.claims``) ties to the exact sentences they came from.

1. The retrieved chunks become numbered passages (title, date, text), as many as fit the
   model's context (``Generator.context_window``) with room for the answer
   (``llm_answer_tokens``), best first.
2. A chat model gets a system message asking for a concise answer in the question's shape
   with ``[n]`` after every sentence; a base model completes worked examples. Both can be
   replaced by a TOML file (``RAG_LLM_PROMPTS``, ``rag.prompts.load_templates``). A server
   that takes a grammar makes every sentence end with a given passage's marker (``cite``).
3. The reply streams through ``ClaimStream``: a claim is shown once it is complete and
   passes, citing the sentence(s) that support it (numbered once each, in order of first
   use). The last sentence of a reply cut off at the token limit is never shown. A
   failing claim goes to ``Answer.dropped``; with ``unsupported_claims=mark`` it
   is also shown, marked and without citations. If no claim passes, the assistant
   abstains.
"""

from __future__ import annotations

from collections.abc import Generator as Gen
from dataclasses import dataclass, replace

from rag import prompts
from rag.claims import Checked, Citations, ClaimStream, source_sentences
from rag.protocols import GenerationStats, Generator
from rag.records import ABSTAIN_TEXT, Answer, Claim, ClaimCheck, Passage, render_claims
from rag.settings import Settings
from rag.tracing import traced_stream

PROMPT_MARGIN = 32  # tokens for the chat template's own markup
CUT_OFF = "cut off at the answer's token limit (RAG_LLM_ANSWER_TOKENS)"


@dataclass(frozen=True)
class Prompt:
    text: str
    system: str | None
    passages: list[Passage]  # passage n of the prompt is passages[n - 1]


def build_prompt(
    llm: Generator, settings: Settings, question: str, passages: list[Passage]
) -> Prompt:
    """The prompt with as many passages as fit, best first."""
    templates = prompts.load_templates(settings.llm_prompts)
    blocks = [
        prompts.passage_block(n, p.title, p.date, p.chunk.text, numbered=templates.number_sentences)
        for n, p in enumerate(passages[: settings.llm_passages], 1)
    ]
    if llm.chat:
        system = templates.system
        frame = system + templates.fill(templates.user, "", question)
        template = templates.user
    else:
        system = None
        frame = templates.fill(templates.completion, "", question)
        template = templates.completion
    budget = (
        llm.context_window() - settings.llm_answer_tokens - llm.count_tokens(frame) - PROMPT_MARGIN
    )
    n = prompts.fit(blocks, budget, llm.count_tokens) if blocks else 0
    text = templates.fill(template, "\n\n".join(blocks[:n]), question)
    return Prompt(text, system, list(passages[:n]))


def stream_claims(
    llm: Generator, settings: Settings, question: str, answer: Answer
) -> Gen[str, None, Answer]:
    """Yield each checked claim's text as it is ready, and return the filled ``answer``."""
    prompt = build_prompt(llm, settings, question, answer.passages)
    stream = ClaimStream(source_sentences(prompt.passages))
    citations = Citations(prompt.passages)
    mark = settings.unsupported_claims == "mark"
    shown: list[Claim] = []
    held: list[Claim] = []  # unsupported claims to mark, shown once a claim passes
    dropped: list[Claim] = []
    raw: list[str] = []
    stats = GenerationStats()

    def take(checked: list[Checked]) -> str:
        out = ""
        for item in checked:
            claim = citations.claim(item)
            if not claim.check.passed:
                dropped.append(claim)
                if mark:
                    held.append(claim)
                continue
            for ready in [*held, claim]:
                out += (" " if shown else "") + render_claims([ready])
                shown.append(ready)
            held.clear()
        return out

    for piece in traced_stream(
        llm,
        prompt.text,
        max_tokens=settings.llm_answer_tokens,
        stop=() if llm.chat else prompts.PASSAGES_STOP,
        stats=stats,
        system=prompt.system,
        cite=len(prompt.passages),
    ):
        raw.append(piece)
        text = take(stream.feed(piece))
        if text:
            yield text
    answer.prompt_tokens = stats.prompt_tokens
    answer.completion_tokens = stats.completion_tokens
    if prompts.is_unknown("".join(raw)):
        return _abstain(answer)
    last = stream.close()
    if stats.cut_off:  # the reply stopped at the token limit: its last sentence is unfinished
        last = [replace(c, support=(), check=ClaimCheck(False, 0.0, (), CUT_OFF)) for c in last]
    text = take(last)
    if shown and held:
        text += "".join(" " + render_claims([claim]) for claim in held)
        shown.extend(held)
    if text:
        yield text
    answer.dropped = dropped
    if not shown:
        yield ABSTAIN_TEXT
        return _abstain(answer)
    answer.claims = shown
    answer.citations = citations.citations
    answer.text = render_claims(shown)
    answer.short_answer = None
    answer.abstained = False
    return answer


def _abstain(answer: Answer) -> Answer:
    answer.text = ABSTAIN_TEXT
    answer.citations = []
    answer.claims = []
    answer.short_answer = None
    answer.abstained = True
    return answer
