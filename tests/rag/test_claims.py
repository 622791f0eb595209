"""The claim check (rag.claims): splitting a reply into claims, checking each against the
sentences it cites, finding the supporting sentences, streaming."""

from __future__ import annotations

import pytest

from rag.claims import (
    ClaimStream,
    Draft,
    SourceSentence,
    check_claim,
    split_claims,
    support,
    tokens,
)

pytestmark = pytest.mark.unit

PAY = "SoftBank will also pay OpenAI $3 billion (£2.4bn) a year to use OpenAI’s services."
HIRE = (
    "It will hire 1,000 people from SoftBank to carry out marketing services, the investment "
    "firm’s founder Masayoshi Son and OpenAI chief Sam Altman said at an event in Tokyo on "
    "Monday."
)
OWNED = (
    "SB OpenAI Japan will be half-owned by OpenAI and half by a subsidiary established by "
    "SoftBank through its domestic telecoms arm."
)
BERATE = (
    "Son has berated Japanese companies for not using enough AI, comparing those who don’t "
    "use the technology to “goldfish” incapable of using language."
)


# ----- splitting ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("SoftBank pays $3bn [1].", [("SoftBank pays $3bn.", (1,))]),
        ("SoftBank pays $3bn. [1]", [("SoftBank pays $3bn.", (1,))]),
        (
            "SoftBank pays $3bn [1][2]. It hires [3]",
            [("SoftBank pays $3bn.", (1, 2)), ("It hires", (3,))],
        ),
        ("SoftBank pays $3bn [1, 3].", [("SoftBank pays $3bn.", (1, 3))]),
        ("SoftBank pays $3bn [Source 2].", [("SoftBank pays $3bn.", (2,))]),
        ("Mr. Son paid $2.4bn to U.S. firms [1].", [("Mr. Son paid $2.4bn to U.S. firms.", (1,))]),
        ("No. It is in Tokyo [2].", [("No. It is in Tokyo.", (2,))]),
        ("Answer: Tokyo [1]", [("Tokyo", (1,))]),
        ("The passage says: Tokyo [1]", [("Tokyo", (1,))]),
        (
            "The answer to this question is: No. [1] It is in Osaka [2].",
            [("No. It is in Osaka.", (1, 2))],
        ),
        ("1. Tokyo [1]\n2. Osaka [2]", [("Tokyo", (1,)), ("Osaka", (2,))]),
        ("It is in Tokyo.", [("It is in Tokyo.", ())]),
        ("Yes.", [("Yes.", ())]),
        ("", []),
    ],
)
def test_split_claims(reply, expected):
    assert [(d.text, d.markers) for d in split_claims(reply)] == expected


def test_tokens_normalise_amounts_numbers_and_negations():
    norms = [t.norm for t in tokens("They didn't pay three billion dollars (5 per cent).")]
    assert norms == ["they", "did", "not", "pay", "3", "billion", "dollar", "5", "percent"]
    assert [t.norm for t in tokens("$3bn")] == [t.norm for t in tokens("3 billion dollars")]


# ----- the check: faithful claims pass --------------------------------------------------------
@pytest.mark.parametrize(
    ("claim", "sentence"),
    [
        ("SoftBank will also pay OpenAI $3 billion (£2.4bn) a year", PAY),  # verbatim
        ("SoftBank will pay OpenAI $3 billion a year.", PAY),  # a dropped word and clause
        ("SoftBank will pay OpenAI $3bn a year to use its services.", PAY),  # an amount rewritten
        ("To use OpenAI's services, SoftBank will pay it $3 billion a year.", PAY),  # reordered
        ("OpenAI will be paid $3 billion a year by SoftBank.", PAY),  # passive
        ("The venture will hire 1,000 people from SoftBank.", HIRE),
        ("Masayoshi Son and Sam Altman spoke at an event in Tokyo on Monday.", HIRE),
        ("Son berated Japanese companies for not using enough AI.", BERATE),
        ("Son compared companies that don't use AI to “goldfish”.", BERATE),
        ("Yes, SB OpenAI Japan is half-owned by OpenAI.", OWNED),
    ],
)
def test_faithful_claims_pass(claim, sentence):
    check = check_claim(claim, [sentence])
    assert check.passed, check


# ----- the check: perturbed claims fail -------------------------------------------------------
@pytest.mark.parametrize(
    ("claim", "sentence", "why"),
    [
        ("SoftBank will pay OpenAI $4 billion a year.", PAY, "not in the cited sentences: 4"),
        ("SoftBank will pay OpenAI $3 million a year.", PAY, "million"),
        ("SoftBank will pay OpenAI €3 billion a year.", PAY, "€"),
        ("It will hire 1,000 people, Son said in Tokyo on Tuesday.", HIRE, "Tuesday"),
        ("It will hire 2,000 people from SoftBank.", HIRE, "2,000"),
        ("Microsoft will pay OpenAI $3 billion a year.", PAY, "Microsoft"),
        ("OpenAI will pay SoftBank $3 billion a year.", PAY, "swaps who does what"),
        ("SoftBank will be paid $3 billion a year by OpenAI.", PAY, "swaps who does what"),
        ("SoftBank will not pay OpenAI $3 billion a year.", PAY, "adds a negation"),
        ("SoftBank never pays OpenAI $3 billion a year.", PAY, "adds a negation"),
        ("Son berated Japanese companies for using enough AI.", BERATE, "drops the negation"),
        ("Son compared companies to “sharks” incapable of using language.", BERATE, "sharks"),
        ("Japanese companies berated Son for not using enough AI.", BERATE, "swaps who does what"),
        ("The venture will sell cars and trucks to retailers in Tokyo.", HIRE, "of its words"),
    ],
)
def test_perturbed_claims_fail(claim, sentence, why):
    check = check_claim(claim, [sentence])
    assert not check.passed and why in check.reason, check


def test_a_claim_citing_nothing_or_stating_nothing_fails():
    assert check_claim("SoftBank pays OpenAI.", []).reason == "cites no source"
    assert check_claim("Yes.", [PAY]).reason == "states nothing"


# ----- which sentences support a claim --------------------------------------------------------
SENTENCES = [
    SourceSentence(1, 100, 100 + len(OWNED), OWNED),
    SourceSentence(2, 400, 400 + len(HIRE), HIRE),
    SourceSentence(2, 600, 600 + len(PAY), PAY),
]


def test_support_is_the_cited_sentence_that_holds_the_claim():
    checked = support(Draft("SoftBank will pay OpenAI $3 billion a year.", (2,)), SENTENCES)
    assert checked.check.passed and checked.support == (SENTENCES[2],)


def test_a_claim_joining_two_sentences_cites_both():
    claim = "SB OpenAI Japan will hire 1,000 people from SoftBank."
    checked = support(Draft(claim, (1, 2)), SENTENCES)
    assert checked.check.passed and checked.support == (SENTENCES[0], SENTENCES[1])


def test_a_claim_must_hold_in_the_sources_it_cites():
    checked = support(Draft("SoftBank will pay OpenAI $3 billion a year.", (1,)), SENTENCES)
    assert not checked.check.passed and checked.support == ()
    checked = support(Draft("SoftBank will pay OpenAI $3 billion a year.", (7,)), SENTENCES)
    assert checked.check.reason == "cites [7], which is not one of the sources"


def test_the_stream_checks_each_claim_once_it_is_complete():
    stream = ClaimStream(SENTENCES)
    reply = "SoftBank will pay OpenAI $3 billion a year [2]. OpenAI will pay SoftBank $9bn [2]."
    seen = []
    for i in range(0, len(reply), 5):
        seen.extend(stream.feed(reply[i : i + 5]))
    assert [c.text for c in seen] == ["SoftBank will pay OpenAI $3 billion a year."]
    [last] = stream.close()
    assert not last.check.passed and "9" in last.check.reason
