"""Text clean-up (pure functions): normalise whitespace, re-join hard-wrapped lines, and cut
site furniture ("Recent Posts" teasers, the author's bio) off the end of news pages."""

from __future__ import annotations

import re
import unicodedata

# A line equal to one of these (case-insensitive, trailing ":" ignored) starts the trailer
# when it lies in the last 70% of the text.
TRAILER_HEADINGS = frozenset(
    h.strip()
    for h in """recent posts|related posts|related articles|related stories|related content
    |related news|more stories|more news|more articles|you may also like|you might also like
    |you may also be interested in|recommended for you|recommended stories|most popular
    |most read|popular posts|latest news|latest posts|latest stories|read next
    |further reading|share this article|share this story|share this post
    |sign up for our newsletter|subscribe to our newsletter|leave a reply|leave a comment
    |about the author""".split("|")
)
# Weaker signs, also found inside article bodies as widget or link text: they count only in
# the last 40%. Exact lines, or short lines starting with a prefix ("More from Silicon UK").
WEAK_TRAILER_HEADINGS = frozenset(
    "related|recommended|read more|share|share this|tags|newsletter|comments|trending".split("|")
)
TRAILER_PREFIXES = ("more from ", "more in ", "more on ", "read more", "also read", "see also")
HEADING_FLOOR = 0.3  # exact headings count in the last 70% of the text
WEAK_FLOOR = 0.6  # weak signs only in the last 40%
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u2060\ufeff"))
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[^\S\n]+")
_TERMINAL = (".", "!", "?", ":", ";", '"', "”", "’", "'", ")")
_LIST_ITEM = re.compile(r"\s*(?:[-*•#>]|\d+[.)])\s")


def normalise(text: str) -> str:
    """NFC, unified newlines, no invisible or control characters, single spaces, trimmed
    lines, and at most one blank line between paragraphs.

    >>> normalise("A  b\\r\\n\\r\\n\\r\\n  c\\u00a0d\\u200b ")
    'A b\\n\\nc d'
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text.translate(_INVISIBLE))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def unwrap_lines(text: str) -> str:
    """Re-join lines that were wrapped to a page width (PDFs, plain-text e-mails): a line
    that fills most (75%) of its paragraph's width and does not end a sentence continues on the
    next line; so does a line followed by a lower-case word. Lists and headings stay.

    >>> unwrap_lines("The museum holds 12,000\\npaintings of the well-\\nknown kind.\\nNext.")
    'The museum holds 12,000 paintings of the well-known kind.\\nNext.'
    >>> unwrap_lines("Title\\n\\nShort line.\\nAnother line.")
    'Title\\n\\nShort line.\\nAnother line.'
    """
    blocks = []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        width = max(40, *(len(line) for line in lines))  # short blocks are not wrapped
        out = lines[0]
        for prev, line in zip(lines, lines[1:], strict=False):
            if _continues(prev, line, width):
                out += ("" if prev.endswith("-") else " ") + line
            else:
                out += "\n" + line
        blocks.append(out)
    return "\n\n".join(blocks)


def _continues(prev: str, line: str, width: int) -> bool:
    if not prev or not line or _LIST_ITEM.match(line):
        return False
    if line[0].islower():
        return True
    return len(prev) >= 0.75 * width and not prev.endswith(_TERMINAL)


def looks_hard_wrapped(text: str) -> bool:
    """Most lines break before ~100 characters inside multi-line paragraphs.

    >>> looks_hard_wrapped(("word " * 14 + "\\n") * 12)
    True
    >>> looks_hard_wrapped("A paragraph on one line.\\n\\nAnother one.")
    False
    """
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) < 8 or max(len(line) for line in lines) > 100:
        return False
    full = sum(len(line) >= 50 for line in lines)
    return full >= 0.6 * len(lines)


def _line_starts(lines: list[str]) -> list[int]:
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    return starts


def _is_trailer_heading(line: str, position: float) -> bool:
    key = line.strip().lower().rstrip(":").strip()
    if position >= HEADING_FLOOR and key in TRAILER_HEADINGS:
        return True
    if position < WEAK_FLOOR:
        return False
    if key in WEAK_TRAILER_HEADINGS:
        return True
    return len(key) <= 80 and not key.endswith(".") and key.startswith(TRAILER_PREFIXES)


def _is_byline(line: str, author: str) -> bool:
    key = line.strip().lower()
    name = author.strip().lower()
    return key in (name, f"by {name}", f"about {name}", f"written by {name}")


def strip_furniture(text: str, author: str | None = None) -> str:
    """Cut trailing site furniture: everything from a trailer heading ("Recent Posts",
    "Related Articles", "More from ...") in the final part of the text, then a closing
    byline/bio block that starts with a line equal to the author's name.

    >>> body = "The harbour park opened in 1990. It has a pond."
    >>> page = body + "\\n\\nJo Lee\\n\\nJo writes about parks.\\n\\nRecent Posts\\n\\nOther story"
    >>> strip_furniture(page, author="Jo Lee")
    'The harbour park opened in 1990. It has a pond.'
    >>> strip_furniture(page)  # without the author, the byline block cannot be told apart
    'The harbour park opened in 1990. It has a pond.\\n\\nJo Lee\\n\\nJo writes about parks.'
    >>> strip_furniture("Recent Posts\\n\\n" + body)  # a heading near the top is content
    'Recent Posts\\n\\nThe harbour park opened in 1990. It has a pond.'
    """
    lines = text.split("\n")
    total = max(len(text), 1)
    starts = _line_starts(lines)
    for i, line in enumerate(lines):
        if i and _is_trailer_heading(line, starts[i] / total):
            lines = lines[:i]
            break
    if author and author.strip():
        for i in range(len(lines) - 1, 0, -1):
            if starts[i] / total < HEADING_FLOOR:
                break
            if _is_byline(lines[i], author):
                lines = lines[:i]
                break
    return "\n".join(lines).strip()


def clean_text(text: str, author: str | None = None, *, unwrap: bool | None = None) -> str:
    """Normalise, re-join wrapped lines (``unwrap``; None = when the text looks wrapped),
    then strip trailing furniture. The result is the article text citations point into.

    >>> clean_text("Title\\n\\n\\nBody  text.\\n\\nRecent Posts\\nTeaser")
    'Title\\n\\nBody text.'
    """
    text = normalise(text)
    if unwrap or (unwrap is None and looks_hard_wrapped(text)):
        text = unwrap_lines(text)
    return strip_furniture(text, author)
