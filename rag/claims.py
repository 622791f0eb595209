"""The claim check: a model's own words reach the user only claim by claim, each tied to the
exact sentences of the sources it came from.

A reply is split into claims (sentences) with the ``[n]`` markers that follow them
(``split_claims``). A claim is checked against sentences of the sources it cites
(``check_claim``); it passes when

1. it cites at least one source it was given;
2. every number, amount (with its scale and currency), date, name (a capitalised word) and
   quoted phrase in it occurs in those sentences;
3. it adds no negation they lack, keeps one they have, and does not swap who does what:
   in the same voice, no three of its words stand in the reverse order of the sentence and
   no two pairs of neighbouring words are inverted (``"SoftBank pays OpenAI"`` is not
   ``"OpenAI pays SoftBank"``); between active and passive, the words before and after the
   shared verb must trade sides (``"OpenAI is paid by SoftBank"`` is the same claim);
4. at least ``MIN_COVERAGE`` of its content words (lower-cased, stopwords left out, stemmed
   with the Snowball English stemmer) occur in those sentences.

The sentences are found, not trusted: among the sentences of the cited sources, the claim is
checked against each one, then against pairs (``support``); it cites the smallest passing
set. "Yes."/"No." may open a claim, and pass only with it. The check is pure and
deterministic; its figures are in ``bench/RESULTS.md`` (``bench/claim_check.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from rag.records import Citation, Claim, ClaimCheck, Passage
from rag.text import STOPWORDS, split_sentences, stem

MIN_COVERAGE = 0.75
MAX_PAIR_CANDIDATES = 6
MAX_ORDER_WORDS = 40
MIN_INVERSIONS = 2
MIN_PAIR_SHARE = 2

_MARKER = re.compile(r"\[\s*(?:(?:source|passage)\s*)?(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]", re.I)
_OPENER = re.compile(r"^(yes|no)\b[,.!:;]?\s*", re.I)
_BARE_OPENER = re.compile(r"^(yes|no)[.!]?$", re.I)
# A lead-in before the claim: "Answer:", "The answer to this question is:", "The passage
# says:", a list bullet or number.
_LEAD = re.compile(
    r"^(?:(?:the\s+)?(?:answer|passage|article)(?:\s+to\s+(?:this|the|your)\s+question)?"
    r"(?:\s+(?:is|says|states))?\s*:\s*|[-*•]\s+|\d{1,2}[.)]\s+)",
    re.I,
)
_TOKEN = re.compile(r"[$£€¥%]|\d+(?:[.,]\d+)*[A-Za-z]*(?:['’]s)?|[^\W\d_][\w'’]*", re.UNICODE)
_NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)([A-Za-z]*)")
_QUOTED = re.compile(r"[\"“]([^\"“”]{2,200})[\"”]|(?:^|(?<=\s))‘([^‘’]{2,200})’")

_CURRENCY = {"$": "dollar", "£": "pound", "€": "euro", "¥": "yen", "usd": "dollar"}
_SCALES = {
    "hundred": "hundred",
    "thousand": "thousand",
    "k": "thousand",
    "million": "million",
    "m": "million",
    "mn": "million",
    "billion": "billion",
    "bn": "billion",
    "b": "billion",
    "trillion": "trillion",
    "tn": "trillion",
    "percent": "percent",
    "%": "percent",
}
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70"}
_NUMBER_WORDS |= {"eighty": "80", "ninety": "90", "dozen": "12"}
_ORDINALS = {
    w: f"#{i}"
    for i, w in enumerate(
        "zeroth first second third fourth fifth sixth seventh eighth ninth tenth".split()
    )
}
_NEGATIONS = frozenset("not no never none nobody nothing neither nor nowhere cannot".split())
_BE = frozenset("is are was were be been being".split())
# Words a claim may add without new content: connectives and talk about the sources.
_FREE_WORDS = (
    frozenset(
        """according also however although because while whereas since thus therefore hence
    meanwhile moreover furthermore instead indeed still yet just only even both each either
    one ones some any all most many much more such other another first then there here
    article articles passage passages source sources text report reports reported states
    stated says said mentions mentioned notes noted""".split()
    )
    - frozenset(_NUMBER_WORDS)
    - frozenset(_ORDINALS)
)
_IGNORED = STOPWORDS | _FREE_WORDS | {"s", "t"}


# ----- words of a text --------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    """A normalised word: ``kind`` is ``number`` (digits or a number word, commas removed),
    ``scale`` (thousand, million, percent...), ``currency``, ``negation`` or ``word``;
    ``name`` when it is capitalised and not a sentence's common first word."""

    text: str
    norm: str
    kind: str
    name: bool = False

    @property
    def key(self) -> str:
        return stem(self.norm) if self.kind == "word" else self.norm


def _number_tokens(raw: str) -> list[Token]:
    digits, suffix = _NUMBER.fullmatch(raw.removesuffix("'s")).groups()
    value = digits.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", digits) else digits
    out = [Token(raw, value.rstrip("."), "number")]
    suffix = suffix.lower()
    if suffix in ("st", "nd", "rd", "th"):
        out = [Token(raw, f"#{value}", "number")]
    elif suffix in _SCALES:
        out.append(Token(raw, _SCALES[suffix], "scale"))
    elif suffix and suffix != "s":
        out.append(Token(raw, suffix, "word"))
    return out


def tokens(text: str) -> list[Token]:
    """The words of a text, normalised for comparison.

    >>> [(t.norm, t.kind) for t in tokens("SoftBank didn't pay $3bn (5%).")]
    [('softbank', 'word'), ('did', 'word'), ('not', 'negation'), ('pay', 'word'), \
('3', 'number'), ('billion', 'scale'), ('dollar', 'currency'), ('5', 'number'), \
('percent', 'scale')]
    >>> [t.norm for t in tokens("Eight thousand people, 1,000 of them in 1932's fair")]
    ['8', 'thousand', 'people', '1000', 'of', 'them', 'in', '1932', 'fair']
    >>> [t.text for t in tokens("The Normans met Rollo in Paris.") if t.name]
    ['Normans', 'Rollo', 'Paris']
    """
    text = text.replace("’", "'").replace("per cent", "percent").replace("Per cent", "percent")
    out: list[Token] = []
    first = True
    for m in _TOKEN.finditer(text):
        raw = m.group()
        if raw[0].isdigit():
            out.extend(_number_tokens(raw))
            first = False
            continue
        if raw in _CURRENCY:
            # "$3bn": the sign and the amount are one item; keep the amount first
            out.append(Token(raw, _CURRENCY[raw], "currency"))
            continue
        if raw == "%":
            out.insert(len(out), Token(raw, "percent", "scale"))
            continue
        word = raw.lower()
        negated = word.endswith("n't")
        if negated:
            word = {"won't": "will", "can't": "can", "shan't": "shall"}.get(word, word[:-3])
        elif word.endswith("'s") or word.endswith("'"):
            word = word[:-2] if word.endswith("'s") else word[:-1]
        if not word:
            continue
        capital = raw[0].isupper()
        name = capital and not (first and (word in _IGNORED or word in _NUMBER_WORDS))
        first = False
        if word in _NUMBER_WORDS:
            out.append(Token(raw, _NUMBER_WORDS[word], "number"))
        elif word in _ORDINALS:
            out.append(Token(raw, _ORDINALS[word], "number"))
        elif word in _SCALES and len(word) > 2:
            out.append(Token(raw, _SCALES[word], "scale"))
        elif word in ("dollars", "pounds", "euros", "dollar", "pound", "euro", "yen"):
            out.append(Token(raw, word.rstrip("s") if word != "yen" else word, "currency"))
        elif word in _NEGATIONS:
            out.append(Token(raw, "not", "negation"))
        elif word == "without":
            out.append(Token(raw, "without", "negation"))
        else:
            out.append(Token(raw, word, "word", name))
        if negated:
            out.append(Token(raw, "not", "negation"))
    return _money_order(out)


def _money_order(toks: list[Token]) -> list[Token]:
    """A currency sign before its amount is moved after it, so "$3bn" and "3bn dollars"
    give the same sequence (quoted phrases are compared as sequences)."""
    out = list(toks)
    i = 0
    while i < len(out) - 1:
        if out[i].kind == "currency" and len(out[i].text) == 1 and out[i + 1].kind == "number":
            j = i + 2
            while j < len(out) and out[j].kind == "scale" and out[j].norm != "percent":
                j += 1
            out[i:j] = [*out[i + 1 : j], out[i]]
            i = j
        else:
            i += 1
    return out


def _content(toks: Iterable[Token]) -> list[Token]:
    return [
        t
        for t in toks
        if t.kind == "word"
        and len(t.norm) > 1
        and (t.norm not in _IGNORED or (t.name and t.norm not in STOPWORDS))
    ]


# Irregular participles and their verbs, so "was paid by" meets "pays" (stems of both).
_PARTICIPLES = dict(
    pair.split(":")
    for pair in """paid:pay built:build made:make held:hold led:lead won:win sold:sell sent:send
    set:set put:put seen:see known:know given:give taken:take bought:buy brought:bring
    found:find told:tell written:write begun:begin chosen:choose""".split()
)


def _participle(toks: Sequence[Token]) -> str | None:
    """The verb of a passive clause (a form of "be" before a participle, or the word before
    "by"), as its stem; None for an active one.

    >>> _participle(tokens("OpenAI is paid by SoftBank"))
    'pay'
    >>> _participle(tokens("SoftBank pays OpenAI")) is None
    True
    """
    norms = [t.norm for t in toks]
    for i, word in enumerate(norms):
        if word in _BE:
            for tok in toks[i + 1 : i + 3]:
                if tok.norm.endswith(("ed", "en", "wn")) or tok.norm in _PARTICIPLES:
                    return stem(_PARTICIPLES.get(tok.norm, tok.norm))
    if "by" in norms[1:]:
        before = _content(toks[: norms.index("by", 1)])
        return stem(_PARTICIPLES.get(before[-1].norm, before[-1].norm)) if before else None
    return None


def _kept_sides(verb: str, claim: Sequence[str], sentence: Sequence[str]) -> bool:
    """Between an active and a passive clause the words before and after their shared verb
    trade places ("A paid B" is "B was paid by A"); if some stay before it and some after it
    in both, the two say who did what the other way round."""
    base = {stem(p): stem(v) for p, v in _PARTICIPLES.items()}
    claim = [base.get(k, k) for k in claim]
    sentence = [base.get(k, k) for k in sentence]
    if claim.count(verb) != 1 or sentence.count(verb) != 1:
        return False
    i, j = claim.index(verb), sentence.index(verb)
    before = set(claim[:i]) & set(sentence[:j]) - set(claim[i + 1 :]) - set(sentence[j + 1 :])
    after = set(claim[i + 1 :]) & set(sentence[j + 1 :]) - set(claim[:i]) - set(sentence[:j])
    return bool(before) and bool(after)


# ----- claims of a reply ------------------------------------------------------------------
@dataclass(frozen=True)
class Draft:
    """A claim as the model wrote it: its text without markers, and the sources it cites."""

    text: str
    markers: tuple[int, ...]


def _markers(text: str) -> tuple[str, tuple[int, ...]]:
    numbers: list[int] = []
    for m in _MARKER.finditer(text):
        numbers.extend(int(n) for n in re.split(r"\s*[,;]\s*", m.group(1)))
    clean = _MARKER.sub(" ", text)
    clean = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(clean.split()))
    clean = re.sub(r"\(\s*\)", "", clean).strip()
    return clean, tuple(dict.fromkeys(numbers))


def split_claims(reply: str) -> list[Draft]:
    """The claims of a reply: its sentences, each with the ``[n]`` markers written in it or
    right after it (before the next sentence begins).

    >>> for d in split_claims("SoftBank pays $3bn a year [1]. [2] It hires 1,000 people [2, 3]."):
    ...     print(d)
    Draft(text='SoftBank pays $3bn a year.', markers=(1, 2))
    Draft(text='It hires 1,000 people.', markers=(2, 3))
    >>> split_claims("Yes. OpenAI is Microsoft-backed [1]")
    [Draft(text='Yes. OpenAI is Microsoft-backed', markers=(1,))]
    >>> split_claims("- Tokyo [1]\\n- Osaka [2]")
    [Draft(text='Tokyo', markers=(1,)), Draft(text='Osaka', markers=(2,))]
    """
    drafts: list[list] = []
    opener = ""
    for s, e in split_sentences(reply):
        sentence = reply[s:e].strip()
        lead = re.match(rf"(?:\s*{_MARKER.pattern})+", sentence, re.I)
        if lead and drafts:  # "… a year. [2] It hires …": [2] ends the sentence before
            _, numbers = _markers(lead.group())
            drafts[-1][1] = tuple(dict.fromkeys((*drafts[-1][1], *numbers)))
            sentence = sentence[lead.end() :]
        text, numbers = _markers(_LEAD.sub("", sentence.strip()))
        if not re.search(r"[^\W\d_]", text):  # only markers (or a list number): the last claim's
            if drafts:
                drafts[-1][1] = tuple(dict.fromkeys((*drafts[-1][1], *numbers)))
            continue
        if _BARE_OPENER.match(text) and not numbers:
            opener = f"{opener}{text} "
            continue
        drafts.append([opener + text, numbers])
        opener = ""
    if opener:
        drafts.append([opener.strip(), ()])
    return [Draft(text, tuple(numbers)) for text, numbers in drafts]


# ----- the check --------------------------------------------------------------------------
def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w$£€%]+", " ", text.lower().replace("’", "'")).split())


def _quoted(claim: str) -> list[str]:
    return [a or b for a, b in _QUOTED.findall(claim)]


def _contains(seq: Sequence[str], part: Sequence[str]) -> bool:
    n = len(part)
    return n > 0 and any(list(seq[i : i + n]) == list(part) for i in range(len(seq) - n + 1))


def _reversed_triple(claim: Sequence[str], sentence: Sequence[str]) -> tuple[str, ...] | None:
    """Three words of the claim (in its order) that stand in the opposite order in the
    sentence wherever they occur there, or None."""
    where: dict[str, list[int]] = {}
    for i, key in enumerate(sentence):
        where.setdefault(key, []).append(i)
    seen = [k for k in dict.fromkeys(claim) if k in where][:MAX_ORDER_WORDS]
    for a, b, c in combinations(seen, 3):
        if max(where[c]) < min(where[b]) and max(where[b]) < min(where[a]):
            return (a, b, c)
    return None


def _negated(toks: Sequence[Token]) -> list[tuple[int, str]]:
    """Each negation with the first content word within three words after it (its index
    in ``toks``), e.g. "did not pay" -> pay."""
    out = []
    for i, tok in enumerate(toks):
        if tok.kind == "negation":
            after = [t for t in toks[i + 1 : i + 4] if t in _content([t])]
            if after:
                out.append((i, after[0].key))
    return out


def _negation_change(claim: Sequence[Token], sentences: Sequence[Sequence[Token]]) -> str | None:
    """A negation the claim adds, or one it drops, or None.

    A negated word of a sentence ("not elected") that the claim states must be negated
    there too, and a word the claim negates must be negated in a sentence. A negation without
    a word after it counts: the claim may not have more of those than the sentences.
    """
    claim_negated = {key for _, key in _negated(claim)}
    source_negated = {key for ts in sentences for _, key in _negated(ts)}
    for key in claim_negated - source_negated:
        return "adds a negation: not " + next(t.text for t in claim if t.key == key)
    loose = sum(t.kind == "negation" for t in claim) - len(_negated(claim))
    if loose > sum(sum(t.kind == "negation" for t in ts) - len(_negated(ts)) for ts in sentences):
        return "adds a negation: " + next(t.text for t in claim if t.kind == "negation")
    claim_keys = {t.key for t in _content(claim)}
    for key in (source_negated & claim_keys) - claim_negated:
        return "drops the negation of: " + next(t.text for t in claim if t.key == key)
    return None


def _local_inversions(claim: Sequence[str], sentence: Sequence[str]) -> list[tuple[str, str]]:
    """Pairs of words close together in the claim (at most two content words apart) that
    stand close together in the sentence (at most three apart) only in the other order."""
    where: dict[str, list[int]] = {}
    for i, key in enumerate(sentence):
        where.setdefault(key, []).append(i)
    out = []
    for i, x in enumerate(claim):
        for y in claim[i + 1 : i + 3]:
            if x == y or x not in where or y not in where:
                continue
            close = [(p, q) for p in where[x] for q in where[y] if abs(p - q) <= 3]
            if close and all(q < p for p, q in close):
                out.append((x, y))
    return out


def check_claim(claim: str, sentences: Sequence[str]) -> ClaimCheck:
    """Check one claim (markers removed) against the sentences it cites.

    >>> src = ["SoftBank will also pay OpenAI $3 billion (£2.4bn) a year to use its services."]
    >>> check_claim("SoftBank will also pay OpenAI $3 billion (£2.4bn) a year", src)
    ClaimCheck(passed=True, coverage=1.0, missing=(), reason='verbatim')
    >>> check_claim("SoftBank will pay OpenAI $3bn each year for its services.", src).passed
    True
    >>> check_claim("SoftBank will pay OpenAI $4 billion a year.", src)
    ClaimCheck(passed=False, coverage=1.0, missing=('4',), reason='not in the cited sentences: 4')
    >>> check_claim("SoftBank will pay Microsoft $3 billion a year.", src).reason
    'not in the cited sentences: Microsoft'
    >>> check_claim("SoftBank will not pay OpenAI $3 billion a year.", src).reason
    'adds a negation: not pay'
    >>> check_claim("OpenAI will pay SoftBank $3 billion a year.", src).reason
    'swaps who does what: OpenAI … SoftBank'
    >>> check_claim("Yes. SoftBank will pay OpenAI $3 billion a year.", src).passed
    True
    >>> check_claim("SoftBank will pay OpenAI.", []).reason
    'cites no source'
    """
    body = _OPENER.sub("", claim.strip(), count=1) if _OPENER.match(claim.strip()) else claim
    body = body.strip()
    if not sentences:
        return ClaimCheck(False, 0.0, (), "cites no source")
    claim_toks = tokens(body)
    if not _content(claim_toks) and not any(t.kind == "number" for t in claim_toks):
        return ClaimCheck(False, 0.0, (), "states nothing")
    joined = " ".join(sentences)
    if _normal(body) and _normal(body) in _normal(joined) and len(sentences) == 1:
        return ClaimCheck(True, 1.0, (), "verbatim")
    per_sentence = [tokens(s) for s in sentences]
    source_toks = [t for ts in per_sentence for t in ts]
    source_norms = {t.norm for t in source_toks}
    source_keys = {t.key for t in source_toks}

    missing: list[str] = []
    for tok in claim_toks:
        required = tok.kind in ("number", "scale", "currency") or tok.name
        if required and tok.norm not in source_norms and tok.key not in source_keys:
            missing.append(tok.text)
    for phrase in _quoted(body):
        words = [t.norm for t in tokens(phrase)]
        if not any(_contains([t.norm for t in ts], words) for ts in per_sentence):
            missing.append(f"“{phrase}”")
    content = _content(claim_toks)
    found = sum(t.key in source_keys for t in content)
    coverage = round(found / len(content), 3) if content else 1.0
    missing = list(dict.fromkeys(missing))
    if missing:
        return ClaimCheck(
            False, coverage, tuple(missing), "not in the cited sentences: " + ", ".join(missing)
        )

    negation = _negation_change(claim_toks, per_sentence)
    if negation:
        return ClaimCheck(False, coverage, (negation.rsplit(": ", 1)[1],), negation)

    claim_verb = _participle(claim_toks)
    claim_keys = [t.key for t in content]
    shown = {t.key: t.text for t in reversed(content)}
    for ts in per_sentence:
        sentence_keys = [t.key for t in _content(ts)]
        sentence_verb = _participle(ts)
        if (claim_verb is None) != (sentence_verb is None):
            verb = claim_verb or sentence_verb
            if _kept_sides(verb, claim_keys, sentence_keys):
                return ClaimCheck(False, coverage, (), "swaps who does what (active/passive)")
            continue
        swapped = _reversed_triple(claim_keys, sentence_keys)
        inverted = _local_inversions(claim_keys, sentence_keys)
        if swapped or len(inverted) >= MIN_INVERSIONS:
            first, last = (swapped[0], swapped[2]) if swapped else inverted[0]
            first, last = shown[first], shown[last]
            return ClaimCheck(
                False, coverage, (first, last), f"swaps who does what: {first} … {last}"
            )

    if coverage < MIN_COVERAGE:
        absent = tuple(dict.fromkeys(t.text for t in content if t.key not in source_keys))
        return ClaimCheck(
            False, coverage, absent, f"only {coverage:.0%} of its words are in the cited sentences"
        )
    return ClaimCheck(True, coverage, (), "supported")


# ----- which sentences support a claim ----------------------------------------------------
@dataclass(frozen=True)
class SourceSentence:
    """A sentence of the numbered source ``source`` (as the model saw it), with its offsets
    in the article."""

    source: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Checked:
    """A claim, the sources it cited, the sentences that support it (empty if none), and the
    result of its check."""

    text: str
    markers: tuple[int, ...]
    support: tuple[SourceSentence, ...]
    check: ClaimCheck


def _brings(keys: set[str], facts: set[str]) -> bool:
    """What one sentence of a pair adds to the other: at least one word of the claim, and
    at least two when one of them is a name or a number (a name alone in another sentence
    does not tie it to this claim)."""
    return bool(keys) and (len(keys) >= MIN_PAIR_SHARE or not keys & facts)


def support(draft: Draft, sentences: Sequence[SourceSentence]) -> Checked:
    """Check a claim against the sentences of the sources it cites: each sentence alone, then
    pairs of the best-covering ones; the smallest passing set is what it cites.

    >>> ss = [SourceSentence(1, 0, 45, "SoftBank and OpenAI set up SB OpenAI Japan."),
    ...       SourceSentence(2, 0, 26, "It will hire 1,000 people."),
    ...       SourceSentence(2, 27, 48, "It is based in Tokyo.")]
    >>> c = support(Draft("SB OpenAI Japan will hire 1,000 people.", (1, 2)), ss)
    >>> c.check.passed, [s.source for s in c.support]
    (True, [1, 2])
    >>> support(Draft("Tokyo will hire 1,000 people.", (2,)), ss).check.passed  # a name alone
    False
    >>> support(Draft("It will hire 1,000 people.", (1,)), ss).check.reason
    'not in the cited sentences: 1,000'
    >>> support(Draft("It will hire 1,000 people.", (3,)), ss).check.reason
    'cites [3], which is not one of the sources'
    """
    known = {s.source for s in sentences}
    if not draft.markers:
        return Checked(draft.text, (), (), ClaimCheck(False, 0.0, (), "cites no source"))
    if not any(n in known for n in draft.markers):
        bad = ", ".join(f"[{n}]" for n in draft.markers)
        check = ClaimCheck(False, 0.0, (), f"cites {bad}, which is not one of the sources")
        return Checked(draft.text, draft.markers, (), check)
    cited = [s for s in sentences if s.source in draft.markers]
    singles = [(check_claim(draft.text, [s.text]), s) for s in cited]
    passing = [(c, s) for c, s in singles if c.passed]
    if passing:
        best = max(passing, key=lambda cs: cs[0].coverage)  # first of the best, in order
        return Checked(draft.text, draft.markers, (best[1],), best[0])
    ranked = sorted(singles, key=lambda cs: cs[0].coverage, reverse=True)
    top = sorted((s for _, s in ranked[:MAX_PAIR_CANDIDATES]), key=cited.index)
    best_pair: tuple[ClaimCheck, tuple[SourceSentence, ...]] | None = None
    claim_toks = tokens(draft.text)
    needed = {t.key for t in claim_toks if t.kind == "number" or t in _content([t])}
    facts = {t.key for t in claim_toks if t.kind == "number" or t.name}
    for a, b in combinations(top, 2):
        keys_a, keys_b = ({t.key for t in tokens(x.text)} & needed for x in (a, b))
        if not (_brings(keys_a - keys_b, facts) and _brings(keys_b - keys_a, facts)):
            continue
        check = check_claim(draft.text, [a.text, b.text])
        if check.passed and (best_pair is None or check.coverage > best_pair[0].coverage):
            best_pair = (check, (a, b))
    if best_pair:
        return Checked(draft.text, draft.markers, best_pair[1], best_pair[0])
    worst = ranked[0][0] if ranked else ClaimCheck(False, 0.0, (), "cites no source")
    return Checked(draft.text, draft.markers, (), worst)


class ClaimStream:
    """Checks claims as a reply streams in: ``feed`` returns the claims that the new text
    completed (a claim is complete once the next one has begun), ``close`` the rest.

    >>> ss = [SourceSentence(1, 0, 23, "Ann paid $3 in Leeds.")]
    >>> stream = ClaimStream(ss)
    >>> stream.feed("Ann paid $3 [1"), stream.feed("]. Bob paid $4 [1].")
    ([], [Checked(text='Ann paid $3.', markers=(1,), support=(...), \
check=ClaimCheck(passed=True, ...))])
    >>> [c.check.reason for c in stream.close()]
    ['not in the cited sentences: Bob, 4']
    """

    def __init__(self, sentences: Sequence[SourceSentence]):
        self.sentences = list(sentences)
        self.text = ""
        self.done = 0

    def _take(self, final: bool) -> list[Checked]:
        drafts = split_claims(self.text)
        ready = drafts if final else drafts[:-1]
        out = [support(d, self.sentences) for d in ready[self.done :]]
        self.done = max(self.done, len(ready))
        return out

    def feed(self, piece: str) -> list[Checked]:
        self.text += piece
        return self._take(final=False)

    def close(self) -> list[Checked]:
        return self._take(final=True)


# ----- from checked claims to the answer's records ----------------------------------------
class Citations:
    """Numbers the supporting sentences once each, in the order claims first cite them, and
    turns checked claims into the answer's ``Claim`` and ``Citation`` records."""

    def __init__(self, passages: Sequence[Passage]):
        self.passages = list(passages)  # source n is passages[n - 1]
        self.numbers: dict[tuple[str, int, int], int] = {}
        self.citations: list[Citation] = []

    def claim(self, checked: Checked) -> Claim:
        """The record of a claim; a passing one cites its sentences (new ones are added)."""
        if not checked.check.passed:
            return Claim(checked.text, (), checked.check)
        numbers = []
        for s in checked.support:
            passage = self.passages[s.source - 1]
            key = (passage.article_id, s.start, s.end)
            if key not in self.numbers:
                self.numbers[key] = len(self.citations) + 1
                self.citations.append(
                    Citation.of(self.numbers[key], passage, s.start, s.end, s.text)
                )
            numbers.append(self.numbers[key])
        return Claim(checked.text, tuple(dict.fromkeys(numbers)), checked.check)


def source_sentences(passages: Sequence[Passage]) -> list[SourceSentence]:
    """The sentences of numbered passages (passage n is source n), offsets in the article;
    a sentence shared by two overlapping chunks belongs to both.

    >>> from rag.records import Chunk
    >>> p = Passage(Chunk("c", "a", "One here. Two there.", 100, 120, 0), "T", "s", None, 0.5, 0)
    >>> source_sentences([p])
    [SourceSentence(source=1, start=100, end=109, text='One here.'), \
SourceSentence(source=1, start=110, end=120, text='Two there.')]
    """
    out = []
    for n, passage in enumerate(passages, 1):
        chunk = passage.chunk
        for s, e in split_sentences(chunk.text):
            out.append(SourceSentence(n, chunk.start + s, chunk.start + e, chunk.text[s:e]))
    return out
