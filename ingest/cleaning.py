"""Text clean-up: normalise whitespace and cut site furniture off the end of news pages."""

from __future__ import annotations

import re
import unicodedata

TRAILER_HEADINGS = (
    "recent posts",
    "related posts",
    "related articles",
    "related stories",
    "read more",
    "more from",
    "more stories",
    "you may also like",
    "you might also like",
    "share this",
    "share this article",
    "most popular",
    "latest news",
    "newsletter",
    "comments",
    "leave a reply",
)


def normalise(text: str) -> str:
    """Unicode NFC, unified newlines, trimmed lines, at most one blank line between paragraphs.

    >>> normalise("A  b\\r\\n\\r\\n\\r\\n  c\\u00a0d ")
    'A b\\n\\nc d'
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\ufeff", "")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def strip_furniture(text: str, author: str | None = None) -> str:
    """Cut trailing site furniture: teaser headings ("Recent Posts", ...) in the last part
    of the text, and a closing byline block that starts with the author's name.

    >>> body = "The harbour park opened in 1990."
    >>> strip_furniture(body + "\\n\\nJo Lee\\n\\nJo writes.\\n\\nRecent Posts\\nOther", "Jo Lee")
    'The harbour park opened in 1990.'
    """
    lines = text.split("\n")
    # Only the last 70% of the text is searched: a heading near the top is content.
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    floor = next((i for i, at in enumerate(starts) if at >= 0.3 * len(text)), len(lines))
    for i in range(floor, len(lines)):
        if lines[i].strip().lower().rstrip(":") in TRAILER_HEADINGS:
            lines = lines[:i]
            break
    if author:
        name = author.strip().lower()
        for i in range(len(lines) - 1, floor - 1, -1):
            if lines[i].strip().lower() == name:
                lines = lines[:i]
                break
    return "\n".join(lines).strip()


def clean_text(text: str, author: str | None = None) -> str:
    """Normalise, then strip furniture.

    >>> clean_text("Title\\n\\n\\nBody  text.\\n\\nRecent Posts\\nTeaser")
    'Title\\n\\nBody text.'
    """
    return strip_furniture(normalise(text), author)
