"""Completion-style prompts for a small base model: worked examples, one line per answer.

The examples are invented and generic; the sources are framed as quoted data, and the
model's reply is later mapped back onto the sources (see ``rag.grounding``), so text
inside an article can supply words but never change what the assistant does.
"""

from __future__ import annotations

from collections.abc import Sequence

UNKNOWN = "unknown"

ANSWER_PREFIX = """Answer each question with a short phrase copied from its sources. \
If the sources do not give the answer, write "unknown".

Sources:
[1] The bridge was completed in 1932 after eight years of construction.
[2] It carries eight lanes of traffic and two railway tracks.
Question: When was the bridge completed?
Answer: 1932

Sources:
[1] The company employs 4,000 people in its three factories.
[2] Its chief executive, Maria Lopez, joined the firm in 2015.
Question: Who founded the company?
Answer: unknown

Sources:
[1] The museum's collection includes 12,000 paintings, most of them donated by local families.
[2] Entry is free for children under twelve.
Question: How many paintings does the museum hold?
Answer: 12,000

"""

REWRITE_PREFIX = """Rewrite the follow-up as a question that makes sense on its own.

Previous question: Who runs the Acme factory in Leeds?
Follow-up: How many people does it employ?
Standalone: How many people does the Acme factory in Leeds employ?

Previous question: When did Maria Lopez join the bank?
Follow-up: What did she do before that?
Standalone: What did Maria Lopez do before she joined the bank?

"""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def answer_prompt(question: str, evidence: Sequence[str]) -> str:
    """The answering prompt; the model completes the last ``Answer:`` line.

    >>> answer_prompt("Who?", ["Ann did it."]).splitlines()[-3:]
    ['[1] Ann did it.', 'Question: Who?', 'Answer:']
    """
    sources = "\n".join(f"[{i}] {_one_line(s)}" for i, s in enumerate(evidence, 1))
    return f"{ANSWER_PREFIX}Sources:\n{sources}\nQuestion: {_one_line(question)}\nAnswer:"


def rewrite_prompt(previous_question: str, follow_up: str) -> str:
    """The prompt that turns a follow-up into a standalone question.

    >>> rewrite_prompt("Who is Ann?", "Where does she live?").splitlines()[-1]
    'Standalone:'
    """
    return (
        f"{REWRITE_PREFIX}Previous question: {_one_line(previous_question)}\n"
        f"Follow-up: {_one_line(follow_up)}\nStandalone:"
    )


def is_unknown(reply: str) -> bool:
    """Did the model say the sources lack the answer?

    >>> is_unknown(" Unknown."), is_unknown("12,000")
    (True, False)
    """
    words = reply.strip().strip(".!\"'").lower()
    return words in ("", UNKNOWN, "none", "n/a", "not given", "not stated")
