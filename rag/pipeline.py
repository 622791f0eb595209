"""The Assistant: retrieve passages, select evidence sentences, generate, ground, cite."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

from rag import free_text, prompts, registry
from rag.errors import InputError
from rag.grounding import best_span, clean_answer
from rag.lexical import Filters
from rag.protocols import Embedder, GenerationStats, Generator, Store
from rag.records import (
    ABSTAIN_TEXT,
    Answer,
    Citation,
    Claim,
    ClaimCheck,
    Passage,
    render_claims,
)
from rag.retrieval import BM25Retriever, DenseRetriever, HybridRetriever
from rag.settings import Settings
from rag.text import split_sentences, tokenize

MAX_QUESTION_CHARS = 2000
MIN_SPAN_OVERLAP = 0.5
MIN_SENTENCE_CHARS = 20
_PRONOUN = re.compile(r"\b(it|they|them|he|him|she|its|their|his|her)\b", re.IGNORECASE)
_POSSESSIVE = {"its", "their", "his", "her"}
_NAME = re.compile(r"\b[A-Z][\w&.-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w&.-]*)*")
_QUESTION_WORDS = frozenset(
    "how what who whom whose when where why which is are was were does do did can could will "
    "would should has have had the a an in on at".split()
)


@dataclass(frozen=True)
class Evidence:
    """A sentence of a retrieved passage; offsets are in the article's text."""

    passage: Passage
    start: int
    end: int
    text: str
    score: float


def last_user_question(history) -> str | None:
    """The most recent user turn of a chat history (tuples or role/content dicts).

    >>> last_user_question([("Who?", "Ann [1]."), ("Why?", "...")])
    'Why?'
    >>> last_user_question([{"role": "user", "content": "Who?"}, {"role": "assistant"}])
    'Who?'
    """
    for turn in reversed(list(history or [])):
        if isinstance(turn, dict):
            if turn.get("role") == "user" and isinstance(turn.get("content"), str):
                return turn["content"]
        elif isinstance(turn, list | tuple) and turn and isinstance(turn[0], str):
            return turn[0]
    return None


def subject_of(question: str) -> str | None:
    """The first name in a question (a capitalised phrase that is not a question word).

    >>> subject_of("How much does SoftBank pay OpenAI?")
    'SoftBank'
    >>> subject_of("When was the Bank of England founded?")
    'Bank of England'
    >>> subject_of("how much is it?") is None
    True
    """
    for match in _NAME.finditer(question):
        words = match.group().split()
        while words and words[0].lower() in _QUESTION_WORDS:
            words = words[1:]
        if words:
            return " ".join(words)
    return None


def resolve_follow_up(previous: str, question: str) -> str:
    """Replace the follow-up's first pronoun with the previous question's subject.

    A 270M base model copies the follow-up unchanged when asked to rewrite it, so this
    is done by rule. Without a pronoun the question stands alone; without a subject the
    previous question is prepended, to steer retrieval.

    >>> resolve_follow_up("How much does SoftBank pay OpenAI?", "How many people will it hire?")
    'How many people will SoftBank hire?'
    >>> resolve_follow_up("Who founded Acme Corp?", "What is its revenue?")
    "What is Acme Corp's revenue?"
    >>> resolve_follow_up("Who founded Acme?", "When did Ada Brown open the bakery?")
    'When did Ada Brown open the bakery?'
    >>> resolve_follow_up("how much is it?", "and why is it so?")
    'how much is it? and why is it so?'
    """
    match = _PRONOUN.search(question)
    if match is None:
        return question
    subject = subject_of(previous)
    if subject is None:
        return f"{previous} {question}"
    replacement = subject + "'s" if match.group().lower() in _POSSESSIVE else subject
    return question[: match.start()] + replacement + question[match.end() :]


_NUMBER = re.compile(r"\d")
_ASKS_NUMBER = re.compile(
    r"^(how (many|much|long|old|far|large|big|tall|often)|what (year|percentage|"
    r"number|amount)|in what year|when)\b",
    re.IGNORECASE,
)
ANSWER_SHAPE_BONUS = 0.2
# Best sentence holds a gold answer for 68.0% of 200 SQuAD dev questions at 1.0, 65.5% at 0.5.
LEXICAL_WEIGHT = 1.0


def expected_answer_shape(question: str) -> re.Pattern | None:
    """A pattern the answer sentence should match, from the question's form.

    >>> expected_answer_shape("How many trees are there?").pattern
    '\\\\d'
    >>> expected_answer_shape("Why did it close?") is None
    True
    """
    return _NUMBER if _ASKS_NUMBER.search(question.strip()) else None


def weighted_overlap(question: str, sentences: list[str]) -> list[float]:
    """Share of the question's words in each sentence, rarer words (across the candidates)
    weighing more.

    >>> weighted_overlap("park trees", ["The park opened.", "The park has trees."])
    [0.42..., 1.0]
    """
    terms = set(tokenize(question))
    if not terms:
        return [0.0] * len(sentences)
    bags = [set(tokenize(s)) for s in sentences]
    n = len(bags)
    weight = {t: math.log(1 + n / (1 + sum(t in b for b in bags))) for t in terms}
    total = sum(weight.values()) or 1.0
    return [sum(weight[t] for t in terms & bag) / total for bag in bags]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(y * y for y in b)) or 1.0
    return dot / (na * nb)


class Assistant:
    """Answers questions over one collection. Cheap to build; models load on first use."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        llm: Generator | None = None,
        store: Store | None = None,
    ):
        self.settings = settings or Settings()
        self._embedder = embedder
        self._llm = llm
        self.store = store or registry.open_store(self.settings)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = registry.load_embedder(self.settings)
        return self._embedder

    @property
    def llm(self) -> Generator:
        if self._llm is None:
            self._llm = registry.load_generator(self.settings)
        return self._llm

    @cached_property
    def retriever(self):
        dense = DenseRetriever(self.store, self.embedder)
        if self.settings.retrieval == "dense":
            return dense
        lexical = BM25Retriever(self.store)
        if self.settings.retrieval == "bm25":
            return lexical
        return HybridRetriever(dense, lexical, self.settings.fetch_k)

    # ----- steps --------------------------------------------------------------------
    def standalone_question(self, question: str, history=None) -> str:
        """Resolve a follow-up that leans on the conversation (see ``resolve_follow_up``)."""
        previous = last_user_question(history)
        return resolve_follow_up(previous, question) if previous else question

    def retrieve(
        self, question: str, k: int | None = None, filters: Filters | None = None
    ) -> list[Passage]:
        if filters:
            return self.retriever.retrieve(question, k or self.settings.top_k, filters)
        return self.retriever.retrieve(question, k or self.settings.top_k)

    def nothing_matches(self, filters: Filters | None) -> bool:
        """Filters that no stored chunk satisfies (an indexed lookup in the store)."""
        any_match = getattr(self.store, "any_match", None)
        return bool(filters) and any_match is not None and not any_match(filters)

    def select_evidence(self, question: str, passages: list[Passage]) -> list[Evidence]:
        """The sentences of the passages that best match the question, best first."""
        seen: set[tuple[str, int]] = set()
        candidates: list[tuple[Passage, int, int, str]] = []
        for passage in passages:
            chunk = passage.chunk
            for s, e in split_sentences(chunk.text):
                key = (chunk.article_id, chunk.start + s)
                text = chunk.text[s:e]
                if key in seen or len(text) < MIN_SENTENCE_CHARS or text == passage.title:
                    continue  # headlines and fragments are not evidence
                seen.add(key)
                candidates.append((passage, chunk.start + s, chunk.start + e, text))
        if not candidates:
            return []
        query_vec = self.embedder.embed_query(question)
        sentence_vecs = self.embedder.embed_documents([c[3] for c in candidates])
        lexical = weighted_overlap(question, [c[3] for c in candidates])
        wants = expected_answer_shape(question)
        scored = []
        for (passage, start, end, text), vec, lex in zip(
            candidates, sentence_vecs, lexical, strict=True
        ):
            bonus = ANSWER_SHAPE_BONUS if wants and wants.search(text) else 0.0
            score = _cosine(query_vec, vec) + LEXICAL_WEIGHT * lex + bonus
            scored.append(Evidence(passage, start, end, text, score))
        scored.sort(key=lambda ev: ev.score, reverse=True)
        return scored[: self.settings.evidence_sentences]

    def _should_abstain_early(self, passages: list[Passage]) -> bool:
        return not passages or max(p.score for p in passages) < self.settings.min_relevance

    def _unsure(self, stats: GenerationStats) -> bool:
        """The model would rather have written words that are not in the evidence."""
        return stats.copy_prob is not None and stats.copy_prob < self.settings.min_copy_prob

    def _finish(self, answer: Answer, evidence: list[Evidence], reply: str) -> Answer:
        """Ground the model's reply in one evidence sentence and cite it, or abstain."""
        candidate = clean_answer(reply)
        if prompts.is_unknown(candidate):
            return _abstain(answer)
        best: tuple[float, Evidence, int, int] | None = None
        for ev in evidence:
            span = best_span(candidate, ev.text)
            if span and (best is None or span.overlap > best[0]):
                best = (span.overlap, ev, span.start, span.end)
        if best is None or best[0] < MIN_SPAN_OVERLAP:
            return _abstain(answer)
        _, ev, start, end = best
        passage = ev.passage
        span = ev.text[start:end]
        answer.claims = [Claim(span, (1,), ClaimCheck(True, reason="verbatim"))]
        answer.text = render_claims(answer.claims)
        answer.short_answer = span
        answer.shape = "factoid"
        answer.citations = [
            Citation(
                number=1,
                title=passage.title,
                source=passage.source,
                article_id=passage.article_id,
                chunk_id=passage.chunk.id,
                start=ev.start,
                end=ev.end,
                quote=ev.text,
                score=round(passage.score, 4),
                date=passage.date,
            )
        ]
        answer.abstained = False
        return answer

    # ----- public -------------------------------------------------------------------
    def stream_answer(
        self, question: str, history=None, filters: Filters | None = None
    ) -> Iterator[str | Answer]:
        """Yield text pieces as the model writes them, then the final grounded Answer.

        ``filters`` restrict retrieval to a source/site, a date range or an author; when
        no stored article matches them the answer says so (and counts as abstained)."""
        started = time.perf_counter()
        question = _validate(question)
        standalone = self.standalone_question(question, history)
        answer = Answer(question=question, text="", standalone_question=standalone)
        if self.nothing_matches(filters):
            answer.text = f"No article matches {filters.describe()}."
            answer.abstained = True
            yield answer.text
            answer.latency_s = round(time.perf_counter() - started, 4)
            yield answer
            return
        free = self.llm.free_text  # the model writes its own answer from numbered passages
        k = self.settings.llm_passages if free else None
        answer.passages = self.retrieve(standalone, k, filters=filters)
        if self._should_abstain_early(answer.passages):
            answer = _abstain(answer)
            yield answer.text
        elif free:  # only claims that pass the check (rag.claims) are shown
            answer = yield from free_text.stream_claims(self.llm, self.settings, standalone, answer)
        else:
            evidence = self.select_evidence(standalone, answer.passages)
            sources = [ev.text for ev in evidence]
            prompt = prompts.answer_prompt(standalone, sources)
            stats = GenerationStats()
            pieces: list[str] = []
            for piece in self.llm.stream(
                prompt, max_tokens=self.settings.max_tokens, copy_from=sources, stats=stats
            ):
                if self._unsure(stats):
                    break  # known before the first word is shown
                pieces.append(piece)
                yield piece
            answer.prompt_tokens = stats.prompt_tokens
            answer.completion_tokens = stats.completion_tokens
            answer.copy_prob = stats.copy_prob
            if self._unsure(stats):
                answer = _abstain(answer)
                yield answer.text
            else:
                answer = self._finish(answer, evidence, "".join(pieces))
        answer.latency_s = round(time.perf_counter() - started, 4)
        yield answer

    def answer(self, question: str, history=None, filters: Filters | None = None) -> Answer:
        final = None
        for item in self.stream_answer(question, history, filters):
            final = item
        assert isinstance(final, Answer)
        return final


def _abstain(answer: Answer) -> Answer:
    answer.text = ABSTAIN_TEXT
    answer.citations = []
    answer.claims = []
    answer.short_answer = None
    answer.abstained = True
    return answer


def _validate(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InputError("question: empty; ask something about the articles")
    question = " ".join(question.split())
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"question: {len(question)} characters, the limit is {MAX_QUESTION_CHARS}")
    return question
