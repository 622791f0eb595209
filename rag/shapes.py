"""The shape of the answer a question needs, from its wording (pure functions).

- ``factoid``: who, when, where, which, how many/much, "what price": a short span, cited;
- ``explanation``: why, how, what is X, describe, list, compare: whole evidence sentences;
- ``yes-no``: is, does, did, can, will...: the sentence that settles it;
- ``summary``: summarise, "what is this article about": the lead of the best article.

The wording only proposes a shape; the pipeline may turn a factoid into an explanation
once it has measured the evidence (see ``rag.pipeline`` and ``prefers_sentence``).
"""

from __future__ import annotations

import re

FACTOID, EXPLANATION, YES_NO, SUMMARY = "factoid", "explanation", "yes-no", "summary"

_POLITE = re.compile(
    r"^(?:please\s+|(?:can|could|would|will)\s+you\s+(?:please\s+)?|i\s+(?:want|would like)\s+"
    r"(?:you\s+)?to\s+(?:know\s+)?|do\s+you\s+know\s+|tell\s+me\s+)+",
    re.IGNORECASE,
)
_SUMMARY = re.compile(
    r"\b(?:summari[sz]e|summary|summarising|summarizing|sum\s+up|tl;?\s?dr|gist|overview|"
    r"main\s+points|key\s+points|key\s+facts|in\s+brief|in\s+a\s+nutshell)\b"
    r"|^what(?:'s|\s+is|\s+are|\s+was|\s+were)\s+(?:this|that|the|these|those)(?:\s+\S+){0,6}?\s+"
    r"(?:article|articles|story|stories|piece|report|news|text|document)s?\s+(?:all\s+)?about\b"
    r"|^what\s+(?:does|do|did)\s+(?:this|that|the|these)(?:\s+\S+){0,6}?\s+"
    r"(?:article|story|piece|report|text|document)s?\s+(?:say|tell\s+(?:me|us))\s*[?.!]*$"
    r"|^what\s+happened\s*[?.!]*$",
    re.IGNORECASE,
)
_EXPLAIN_VERB = re.compile(
    r"^(?:explain|describe|list|compare|outline|discuss|tell\s+me\s+about|give\s+(?:me\s+)?"
    r"(?:the\s+)?(?:reasons?|details?|examples?)|name\s+the)\b",
    re.IGNORECASE,
)
_HOW_QUANTITY = re.compile(
    r"^how\s+(?:many|much|long|old|far|big|large|small|tall|high|deep|often|soon|fast|"
    r"quickly|early|late|wide|heavy|hot|cold)\b",
    re.IGNORECASE,
)
_AUXILIARY = frozenset(
    "is are was were am does do did has have had can could will would shall should may might "
    "must isn't aren't wasn't weren't doesn't don't didn't hasn't haven't hadn't can't couldn't "
    "won't wouldn't shouldn't".split()
)
# "what <noun>" asking for a value or a name: a short span answers it.
_VALUE_NOUNS = frozenset(
    """year years date day days month time age price prices cost costs amount sum number
    percentage percent per rate share size figure total revenue revenues profit profits loss
    losses salary salaries wage wages fee fees fine fines value name names title score
    population height length distance speed weight capacity budget deal valuation stake tax
    record record-breaking city country town place street port nationality language colour
    color currency company firm team party award prize rank position role job""".split()
)
# "what is the <noun> of ..." asking for an account, not a value.
_ACCOUNT_NOUNS = frozenset(
    """reason reasons cause causes purpose effect effects impact impacts consequence
    consequences difference differences problem problems risk risks benefit benefits plan
    plans idea point argument view position criticism concern concerns response reaction
    significance meaning goal aim strategy background context story history outcome result
    results""".split()
)
# "what did X <verb>" asking for an account rather than a thing.
_ACCOUNT_VERBS = frozenset(
    """say said says think thinks do does done mean means want wants plan plans propose
    proposes announce announced argue argues claim claims suggest suggests find found show
    shows promise promised decide decided tell told warn warned expect expects offer offers
    hope hopes believe believes change changed happen happened involve involves need needs
    require requires""".split()
)
_WORD = re.compile(r"[\w'’.-]+")


def _strip_polite(question: str) -> str:
    """The question without "please", "can you", "tell me", ....

    >>> _strip_polite("Can you please explain why it closed?")
    'explain why it closed?'
    """
    return _POLITE.sub("", question.strip()).strip()


def question_shape(question: str) -> str:
    """The shape of answer the question's wording asks for.

    >>> question_shape("Summarise the article.")
    'summary'
    >>> question_shape("What is this article about?"), question_shape("Give me an overview")
    ('summary', 'summary')
    >>> question_shape("What is the Saltmarsh Bank article about?")
    'summary'
    >>> question_shape("Is OpenAI backed by Microsoft?"), question_shape("Did they vote?")
    ('yes-no', 'yes-no')
    >>> question_shape("Is it in Tokyo or in Osaka?")  # a choice is answered by a span
    'factoid'
    >>> question_shape("Why is SoftBank creating a joint venture with OpenAI?")
    'explanation'
    >>> question_shape("How does Veltrexa work?"), question_shape("How many stops are there?")
    ('explanation', 'factoid')
    >>> question_shape("What is SB OpenAI Japan?"), question_shape("What is CGRP?")
    ('explanation', 'explanation')
    >>> question_shape("What was OpenAI's revenue last year?")
    'factoid'
    >>> question_shape("What is the joint venture between SoftBank and OpenAI called?")
    'factoid'
    >>> question_shape("What pay rise is the union asking for?")
    'factoid'
    >>> question_shape("What did Son say about small models?")
    'explanation'
    >>> question_shape("What did Basset analyze before his conclusions?")
    'factoid'
    >>> question_shape("List the most common side effects."), question_shape("Who runs it?")
    ('explanation', 'factoid')
    >>> question_shape("Could you tell me why the shares fell?")
    'explanation'
    """
    q = _strip_polite(" ".join(question.split()))
    if _SUMMARY.search(q):
        return SUMMARY
    if _EXPLAIN_VERB.search(q):
        return EXPLANATION
    words = [w.lower() for w in _WORD.findall(q)]
    if not words:
        return FACTOID
    first = words[0]
    if first in _AUXILIARY:
        return FACTOID if re.search(r"\bor\b", q, re.IGNORECASE) else YES_NO
    if first == "why" or (first == "how" and not _HOW_QUANTITY.search(q)):
        return EXPLANATION
    if first == "in" and len(words) > 2 and words[1] == "what" and words[2] in ("way", "ways"):
        return EXPLANATION
    if first == "what" and len(words) > 1:
        return _what_shape(q, words)
    return FACTOID


def _what_shape(q: str, words: list[str]) -> str:
    """Shapes of "what ..." questions: a definition or an account, or a value."""
    second = words[1]
    if second in ("happened", "happens", "caused", "causes", "led", "prompted", "explains"):
        return EXPLANATION
    if second in _VALUE_NOUNS or second == "kind" or second == "type":
        return FACTOID
    if q.rstrip(" ?.!").lower().endswith(("called", "named", "known as")):
        return FACTOID
    if second in ("is", "are", "was", "were", "'s", "’s") or words[0] in ("what's", "what’s"):
        rest = words[2:] if second in ("is", "are", "was", "were") else words[1:]
        return _what_is_shape(q, rest)
    if second in ("does", "do", "did", "will", "would", "can", "could", "should", "has", "have"):
        # "What did Son say about X?", "What will the venture do?": an account; "What did
        # Basset analyze?": a thing, named by a span.
        return EXPLANATION if _ACCOUNT_VERBS.intersection(words[3:]) else FACTOID
    return FACTOID


def _what_is_shape(q: str, rest: list[str]) -> str:
    """ "What is X?": a definition when X is a name or a bare term, an account when X is a
    reason or an effect, else a value ("What was OpenAI's revenue?")."""
    nouns = [w for w in rest if w not in ("the", "a", "an")]
    if not nouns:
        return FACTOID
    if any(w in _ACCOUNT_NOUNS for w in nouns):
        return EXPLANATION
    if any(w.strip("'’s") in _VALUE_NOUNS or w.endswith(("'s", "’s")) for w in nouns):
        return FACTOID
    tail = q.split(None, 2)[2] if len(q.split(None, 2)) > 2 else ""
    tail = re.sub(r"^(?:the|a|an)\s+", "", tail.strip(" ?.!"), flags=re.IGNORECASE)
    if tail and len(tail.split()) <= 6 and not re.search(r"\b(?:of|for|in|at|on|by)\b", tail):
        return EXPLANATION  # "What is CGRP?", "What is the Aldmoor Business Improvement District?"
    return FACTOID


def prefers_sentence(span: str, sentence: str) -> bool:
    """Whether a factoid's copied span says nearly all its sentence does, so the sentence
    itself (whole, cited) is the better answer.

    >>> s = "SB OpenAI Japan will be half-owned by OpenAI and half by a SoftBank subsidiary."
    >>> prefers_sentence("half-owned by OpenAI and half by a SoftBank subsidiary", s)
    True
    >>> prefers_sentence("$3 billion", "SoftBank will pay OpenAI $3 billion a year.")
    False
    """
    span_words = len(_WORD.findall(span))
    sentence_words = len(_WORD.findall(sentence)) or 1
    return span_words / sentence_words >= SENTENCE_SHARE


# A span of at least this share of its sentence's words is answered with the sentence.
SENTENCE_SHARE = 0.6
