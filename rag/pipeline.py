"""The Assistant: a question in, an ``Answer`` out, in six steps.

1. ``standalone_question``: a follow-up gets the subject of the conversation.
2. ``retrieve``: passages (hybrid dense + BM25 by default).
3. ``shape``: factoid, explanation, yes-no or summary (``rag.shapes``).
4. ``gather``: whole sentences of the retrieved articles, scored against the question, and
   how well they cover it (``rag.evidence``); too little evidence abstains here.
5. ``compose``: a ``Draft``, claims each citing the evidence sentences they come from. A
   factoid is a span the model copies from the best sentence (copy-only decoding); an
   explanation, the sentences that best answer the question; a yes-no question, the
   sentence that settles it; a summary, the lead of the best-matching article. A model
   that writes free text (``Generator.free_text``) answers instead through
   ``rag.free_text``, and only its claims that pass the check are kept.
6. ``finish``: citations numbered once per sentence, claims rendered with ``[n]`` markers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from rag import free_text, prompts, registry
from rag.errors import InputError
from rag.evidence import (
    Evidence,
    candidates,
    choose_sentences,
    content_coverage,
    coverage,
    in_article_order,
    lead_spans,
    question_terms,
    score,
    sentence_spans,
)
from rag.grounding import best_span, clean_answer, titled_name
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
from rag.retrieval import PassageRetriever
from rag.settings import Settings
from rag.shapes import EXPLANATION, FACTOID, SUMMARY, YES_NO, prefers_sentence, question_shape

__all__ = ["Assistant", "Draft", "DraftClaim", "Evidence", "Support"]
from rag.tracing import traced_retrieve, traced_stream

MAX_QUESTION_CHARS = 2000
MIN_SPAN_OVERLAP = 0.5
# An explanation: the best sentence and up to two more scoring within EXPLAIN_MARGIN of it,
# plus the sentence that follows the best one in its article if it scores within
# FOLLOW_MARGIN (news often gives the reason or the detail right after); at most MAX_CLAIMS.
# Chosen on the tuning part of the news dev set (bench/explain_margins.py, bench/RESULTS.md).
EXPLAIN_MARGIN = 0.3
EXPLAIN_PICKS = 3
FOLLOW_MARGIN = 1.0
FOLLOW_GAP = 2  # the next sentence may stand after one heading or fragment
MAX_CLAIMS = 4
SUMMARY_SENTENCES = 3  # lead sentences of one article
SUMMARY_ARTICLES = 3  # articles a summary of "the articles" covers, two sentences each
VERBATIM = ClaimCheck(True, reason="verbatim")
_PRONOUN = re.compile(r"\b(it|they|them|he|him|she|its|their|his|her)\b", re.IGNORECASE)
_POSSESSIVE = {"its", "their", "his", "her"}
_NAME = re.compile(r"\b[A-Z][\w&.-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w&.-]*)*")
_QUESTION_WORDS = frozenset(
    "how what who whom whose when where why which is are was were does do did can could will "
    "would should has have had the a an in on at".split()
)
_PLURAL_SUMMARY = re.compile(r"\b(?:articles|stories|reports|news)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Support:
    """What the retrieved articles offer for a question: their sentences scored against it
    (best first), the articles' texts, and the measures abstention is decided on."""

    ranked: list[Evidence]
    texts: dict[str, str | None]
    relevance: float  # the best passage's cosine similarity to the question
    coverage: float  # weighted share of the question's words in the best sentence's context
    topic: float = 1.0  # the same for the question's words that are not names

    @property
    def best(self) -> Evidence | None:
        return self.ranked[0] if self.ranked else None


@dataclass(frozen=True)
class DraftClaim:
    """A claim before numbering: its text and the evidence sentences that support it."""

    text: str
    sources: tuple[Evidence, ...]
    check: ClaimCheck = VERBATIM


@dataclass
class Draft:
    """What ``compose`` makes: the claims to show (none: abstain), the shape they answer
    in, and the short answer of a factoid."""

    claims: list[DraftClaim] = field(default_factory=list)
    shape: str = FACTOID
    short_answer: str | None = None
    dropped: list[DraftClaim] = field(default_factory=list)
    streamed: bool = False  # its text already went out piece by piece (the model's words)


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


class Assistant:
    """Answers questions over one collection. Cheap to build; models load on first use."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        llm: Generator | None = None,
        store: Store | None = None,
    ):
        self.settings = settings
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
    def retriever(self) -> PassageRetriever:
        s = self.settings
        return PassageRetriever(
            self.store, self.embedder, k=s.top_k, fetch_k=s.fetch_k, mode=s.retrieval
        )

    # ----- 1. standalone question ---------------------------------------------------
    def standalone_question(self, question: str, history=None) -> str:
        """Resolve a follow-up that leans on the conversation (see ``resolve_follow_up``)."""
        previous = last_user_question(history)
        return resolve_follow_up(previous, question) if previous else question

    def embed(self, question: str) -> list[float]:
        """The question's vector: computed once per answer, then passed to every step."""
        return self.retriever.embed(question)

    # ----- 2. retrieve --------------------------------------------------------------
    def retrieve(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        vector: list[float] | None = None,
    ) -> list[Passage]:
        return traced_retrieve(self.retriever, question, k=k, filters=filters, vector=vector)

    def nothing_matches(self, filters: Filters | None) -> bool:
        """Filters that no stored chunk satisfies (an indexed lookup in the store)."""
        return filters is not None and not self.store.any_match(filters)

    # ----- 3. shape -----------------------------------------------------------------
    def shape(self, question: str) -> str:
        """The answer's shape the question's wording asks for (``rag.shapes``)."""
        return question_shape(question)

    # ----- 4. evidence --------------------------------------------------------------
    def gather(
        self, question: str, passages: list[Passage], vector: list[float] | None = None
    ) -> Support:
        """The retrieved articles' sentences scored against the question, and how well the
        best one (with the sentence before it and its article's title) covers the
        question's words."""
        texts = self.article_texts(passages)
        found = candidates(passages, texts)
        relevance = max((p.score for p in passages), default=0.0)
        if not found:
            return Support([], texts, relevance, 0.0)
        query_vector = vector if vector is not None else self.embedder.embed_query(question)
        vectors = self.embedder.embed_documents([ev.text for ev in found])
        ranked = score(question, found, query_vector, vectors)
        best = ranked[0]
        context = f"{best.passage.title} {_previous_sentence(best, texts)} {best.text}"
        terms = question_terms(question)
        return Support(
            ranked,
            texts,
            relevance,
            coverage(terms, context),
            content_coverage(terms, context),
        )

    def article_texts(self, passages: list[Passage]) -> dict[str, str | None]:
        """The stored text of each article the passages come from (what offsets point into)."""
        texts: dict[str, str | None] = {}
        for p in passages:
            if p.article_id not in texts:
                texts[p.article_id] = self.store.article_text(p.article_id)
        return texts

    def enough_evidence(self, shape: str, support: Support) -> bool:
        """Whether the evidence can answer: any for a summary; otherwise a passage similar
        enough to the question, or a best sentence that covers enough of its words
        (measured on the news dev set and split A: bench/abstention.py). A factoid is
        judged again once the model has seen its sentence (``off_topic``)."""
        if not support.ranked:
            return False
        if shape == SUMMARY:
            return True
        s = self.settings
        return support.relevance >= s.min_relevance or support.coverage >= s.min_coverage

    def off_topic(self, support: Support, stats: GenerationStats) -> bool:
        """A factoid's best sentence holds little of what the question asks about besides
        names ("revenue" in "What was OpenAI's revenue?") and the model is unsure of copying
        from it: neither signal alone refuses (split A paraphrases its questions)."""
        s = self.settings
        return (
            support.topic < s.min_topic_coverage
            and stats.copy_prob is not None
            and stats.copy_prob < s.min_topic_copy_prob
        )

    # ----- 5. compose ---------------------------------------------------------------
    def compose(
        self, question: str, shape: str, support: Support, stats: GenerationStats
    ) -> Iterator[str | Draft]:
        """Yield the model's words as it writes them (a factoid's span), then the Draft.

        A generator that writes free text (``Generator.free_text``, a user's model) does not
        come here: ``stream_answer`` hands it to ``rag.free_text``, whose claims are each
        checked against the passages' sentences (``rag.claims``)."""
        if shape == SUMMARY:
            yield self.summarise(question, support)
        elif shape == FACTOID:
            yield from self.copy_span(question, support, stats)
        elif shape == YES_NO:
            yield Draft([DraftClaim(support.best.text, (support.best,))], YES_NO)
        else:
            yield self.explain(support)

    def explain(self, support: Support) -> Draft:
        """The best sentence, those close to it and the one after it, whole, in article
        order (see ``EXPLAIN_MARGIN``)."""
        chosen = explanation_sentences(support.ranked)
        return Draft([DraftClaim(ev.text, (ev,)) for ev in chosen], EXPLANATION)

    def copy_span(
        self, question: str, support: Support, stats: GenerationStats
    ) -> Iterator[str | Draft]:
        """Copy-only decoding over the best sentence: the model picks a span of it, the
        short answer. When the span is most of the sentence, the claim shown is the whole
        sentence; when the model would rather not copy while the sentence covers the
        question, the sentence answers alone (an explanation, no short answer); when the
        sentence is off the question's topic and the model unsure, nothing does."""
        evidence = support.ranked[: self.settings.evidence_sentences]
        sources = [ev.text for ev in evidence]
        prompt = prompts.answer_prompt(question, sources)
        pieces: list[str] = []
        limit = self.settings.max_tokens
        for piece in traced_stream(
            self.llm, prompt, max_tokens=limit, copy_from=sources, stats=stats
        ):
            if self._unsure(stats) or self.off_topic(support, stats):
                break  # known before the first word is shown
            pieces.append(piece)
            yield piece
        if self.off_topic(support, stats):
            yield Draft()
            return
        if self._unsure(stats):
            yield self._sentence_or_nothing(support)
            return
        found = _ground("".join(pieces), evidence)
        if found is None:
            yield self._sentence_or_nothing(support)
            return
        ev, span = found
        span = titled_name(question, span, ev.text)  # "chief executive Rene Haas"
        claim = ev.text if prefers_sentence(span, ev.text) else span  # most of it: all of it
        yield Draft([DraftClaim(claim, (ev,))], FACTOID, short_answer=span, streamed=True)

    def _sentence_or_nothing(self, support: Support) -> Draft:
        """When the model will not copy: the best sentence if it covers the question, what
        it asks about included (not only its names: "the mayor of Elm Street")."""
        s = self.settings
        if support.coverage >= s.min_sentence_coverage and support.topic >= s.min_topic_coverage:
            return Draft([DraftClaim(support.best.text, (support.best,))], EXPLANATION)
        return Draft()

    def summarise(self, question: str, support: Support) -> Draft:
        """The lead sentences of the best-matching article; for "the articles", of up to
        ``SUMMARY_ARTICLES`` articles (two sentences each)."""
        articles: list[Passage] = []
        for ev in support.ranked[:1] + [e for e in support.ranked[1:]]:
            if ev.article_id not in {p.article_id for p in articles}:
                articles.append(ev.passage)
        several = _PLURAL_SUMMARY.search(question) and len(articles) > 1
        articles = articles[:SUMMARY_ARTICLES] if several else articles[:1]
        count = 2 if several else SUMMARY_SENTENCES
        claims = []
        for passage in articles:
            text = support.texts.get(passage.article_id)
            if text is None:
                continue
            spans = sentence_spans(text)
            for s, e in lead_spans(text, passage.title, count):
                ev = Evidence(passage, s, e, text[s:e], 0.0, spans.index((s, e)))
                claims.append(DraftClaim(ev.text, (ev,)))
        if not claims:  # no stored text: the best sentences, in article order
            chosen = choose_sentences(support.ranked, float("inf"), SUMMARY_SENTENCES)
            claims = [DraftClaim(ev.text, (ev,)) for ev in chosen]
        return Draft(claims, SUMMARY)

    def _unsure(self, stats: GenerationStats) -> bool:
        """The model would rather have written words that are not in the evidence."""
        return stats.copy_prob is not None and stats.copy_prob < self.settings.min_copy_prob

    # ----- 6. finish ----------------------------------------------------------------
    def finish(self, answer: Answer, draft: Draft) -> Answer:
        """Number the cited sentences once each, in order of first use, and render."""
        if not draft.claims:
            return _abstain(answer)
        numbers: dict[tuple[str, int, int], int] = {}
        citations: list[Citation] = []
        claims: list[Claim] = []
        for dc in draft.claims:
            cited = []
            for ev in dc.sources:
                key = (ev.article_id, ev.start, ev.end)
                if key not in numbers:
                    numbers[key] = len(citations) + 1
                    citations.append(_citation(numbers[key], ev))
                cited.append(numbers[key])
            claims.append(Claim(dc.text, tuple(dict.fromkeys(cited)), dc.check))
        answer.claims = claims
        answer.citations = citations
        answer.text = render_claims(claims)
        answer.short_answer = draft.short_answer
        answer.shape = draft.shape
        answer.dropped = [Claim(d.text, (), d.check) for d in draft.dropped]
        answer.abstained = False
        return answer

    # ----- public -------------------------------------------------------------------
    def stream_answer(
        self, question: str, history=None, filters: Filters | None = None
    ) -> Iterator[str | Answer]:
        """Yield text pieces as the answer is written, then the final Answer.

        ``filters`` restrict retrieval to a source/site, a date range or an author; when
        no stored article matches them the answer says so (and counts as abstained)."""
        started = time.perf_counter()
        question = _validate(question)
        filters = Filters.of(filters)
        standalone = self.standalone_question(question, history)
        answer = Answer(question=question, text="", standalone_question=standalone)
        if self.nothing_matches(filters):
            answer.text = f"No article matches {filters.describe()}."
            answer.abstained = True
            yield answer.text
            answer.latency_s = round(time.perf_counter() - started, 4)
            yield answer
            return
        shape = answer.shape = self.shape(standalone)
        free = self.llm.free_text  # a model that answers in its own words (rag.free_text)
        k = self.settings.llm_passages if free else None
        search = _search_text(standalone, shape, history)
        vector = self.embed(search)
        answer.passages = self.retrieve(search, k, filters=filters, vector=vector)
        support = self.gather(standalone, answer.passages, vector if search == standalone else None)
        if not self.enough_evidence(shape, support):
            answer = _abstain(answer)
            yield answer.text
        elif free:  # only the claims that pass the check (rag.claims) are shown
            answer = yield from free_text.stream_claims(self.llm, self.settings, standalone, answer)
        else:
            draft = Draft()
            stats = GenerationStats()
            for item in self.compose(standalone, shape, support, stats):
                if isinstance(item, Draft):
                    draft = item
                else:
                    yield item
            answer.prompt_tokens = stats.prompt_tokens
            answer.completion_tokens = stats.completion_tokens
            answer.copy_prob = stats.copy_prob
            answer = self.finish(answer, draft)
            if answer.abstained:
                yield answer.text
            elif not draft.streamed:
                for claim in answer.claims:  # the sentences, one by one, with their markers
                    yield render_claims([claim]) + " "
        answer.latency_s = round(time.perf_counter() - started, 4)
        yield answer

    def answer(self, question: str, history=None, filters: Filters | None = None) -> Answer:
        final = None
        for item in self.stream_answer(question, history, filters):
            final = item
        assert isinstance(final, Answer)
        return final


def explanation_sentences(ranked: list[Evidence]) -> list[Evidence]:
    """The sentences of an explanation (see ``EXPLAIN_MARGIN``), in article order.

    >>> from rag.records import Chunk
    >>> def ev(index, score):
    ...     p = Passage(Chunk("c", "a", "", 0, 0, 0), "", "", None, 0.0, 0)
    ...     return Evidence(p, index * 10, index * 10 + 5, f"s{index}", score, index)
    >>> [e.text for e in explanation_sentences([ev(4, 2.0), ev(9, 1.8), ev(5, 1.2), ev(1, 0.5)])]
    ['s4', 's5', 's9']
    >>> [e.text for e in explanation_sentences([ev(4, 2.0), ev(5, 0.5)])]  # too far below
    ['s4']
    >>> [e.text for e in explanation_sentences([ev(4, 2.0), ev(6, 1.5)])]  # past a heading
    ['s4', 's6']
    """
    chosen = choose_sentences(ranked, EXPLAIN_MARGIN, EXPLAIN_PICKS)
    if not ranked:
        return chosen
    best = ranked[0]
    after = [  # the next sentence, past a heading or a fragment (not evidence)
        ev
        for ev in ranked
        if ev.article_id == best.article_id and 0 < ev.index - best.index <= FOLLOW_GAP
    ]
    follower = min(after, key=lambda ev: ev.index) if after and best.index >= 0 else None
    if follower and follower not in chosen and follower.score >= best.score - FOLLOW_MARGIN:
        chosen = in_article_order([*chosen, follower][:MAX_CLAIMS])
    return chosen


def _previous_sentence(ev: Evidence, texts: dict[str, str | None]) -> str:
    text = texts.get(ev.article_id)
    if text is None or ev.index <= 0:
        return ""
    s, e = sentence_spans(text)[ev.index - 1]
    return text[s:e]


def _ground(reply: str, evidence: list[Evidence]) -> tuple[Evidence, str] | None:
    """The evidence sentence and the verbatim span of it the model's reply matches best."""
    candidate = clean_answer(reply)
    if prompts.is_unknown(candidate):
        return None
    best = None
    for ev in evidence:
        span = best_span(candidate, ev.text)
        if span and (best is None or span.overlap > best[0]):
            best = (span.overlap, ev, span.start, span.end)
    if best is None or best[0] < MIN_SPAN_OVERLAP:
        return None
    _, ev, start, end = best
    return ev, ev.text[start:end]


def _search_text(question: str, shape: str, history) -> str:
    """What to retrieve with: the question; for a summary request naming no subject
    ("Summarise the article."), the previous question of the conversation, if any."""
    if shape == SUMMARY and not question_terms(question):
        return last_user_question(history) or question
    return question


def _citation(number: int, ev: Evidence) -> Citation:
    return Citation.of(number, ev.passage, ev.start, ev.end, ev.text)


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
