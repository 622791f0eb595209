"""Cleaning: the seed article loses its site furniture and keeps every fact."""

import pytest

from ingest.cleaning import (
    clean_text,
    looks_hard_wrapped,
    normalise,
    strip_furniture,
    unwrap_lines,
)
from ingest.loaders import load_path
from tests.conftest import SEED

pytestmark = pytest.mark.unit
TITLE = "SoftBank, OpenAI Create Joint Venture To Market AI In Japan"
BODY = "\n\n".join(f"Paragraph {i} of the article says something useful." for i in range(8))


@pytest.fixture(scope="module")
def seed():
    [article] = load_path(SEED)
    return article


def test_seed_article_metadata(seed):
    assert (seed.title, seed.author, seed.date, seed.url) == (TITLE, "Matthew Broersma", None, None)


def test_seed_article_keeps_its_facts(seed):
    for fact in ["$3 billion (£2.4bn) a year", "1,000 people", "SB OpenAI Japan", "Stargate"]:
        assert fact in seed.text
    assert seed.text.endswith(
        "Son and Altman also met with Japanese prime minister Shigeru Ishiba on Monday."
    )


def test_seed_article_loses_the_byline_bio_and_recent_posts(seed):
    for furniture in [
        "Recent Posts",
        "Matthew Broersma",
        "Broersma",
        "long standing tech freelance",
        "Virgin Media O2",
        "Cybertruck",
        "AirPods",
        "Binance",
        "iRobot",
        "Community Notes",
        "days ago",
    ]:
        assert furniture not in seed.text


def test_the_title_appears_once_as_the_first_line(seed):
    assert seed.text.startswith(TITLE + "\n\n") and seed.text.count(TITLE) == 1


def test_the_shipped_file_still_holds_the_furniture():
    raw = SEED.read_text(encoding="utf-8")
    assert "Recent Posts" in raw and "Matt Broersma is" in raw  # so cleaning is exercised


@pytest.mark.parametrize(
    "heading",
    [
        "Recent Posts",
        "RELATED ARTICLES",
        "You may also like:",
        "More from Example News",
        "Read more",
        "Share this article",
    ],
)
def test_trailer_headings_near_the_end_cut_the_rest(heading):
    text = f"{BODY}\n\n{heading}\n\nA teaser about another story…\n\n2 days ago"
    assert strip_furniture(text) == BODY


@pytest.mark.parametrize("heading", ["Recent Posts", "Read more", "More from our reporters"])
def test_trailer_headings_near_the_top_are_content(heading):
    text = f"{heading}\n\n{BODY}"
    assert strip_furniture(text) == text


def test_a_link_line_mid_article_is_not_a_trailer():
    # "Read more: ..." at 45% of the text: a weak sign, only trusted in the last 40%
    half = BODY.split("\n\n")
    text = "\n\n".join(half[:4] + ["Read more: the council's plan"] + half[4:])
    assert strip_furniture(text) == text


def test_a_sentence_that_starts_like_a_heading_is_content():
    text = BODY + "\n\nRead more about it in the council minutes, published on Friday."
    assert strip_furniture(text) == text


def test_author_block_is_cut_only_when_the_author_is_known():
    text = f"{BODY}\n\nJo Lee\n\nJo Lee writes about parks for Example News."
    assert strip_furniture(text, author="Jo Lee") == BODY
    assert strip_furniture(text, author="jo lee ") == BODY
    assert strip_furniture(text) == text
    assert strip_furniture(text, author="Someone Else") == text


def test_by_line_variant_and_an_author_named_near_the_top():
    assert strip_furniture(f"{BODY}\n\nBy Jo Lee\n\nBio.", author="Jo Lee") == BODY
    top = f"Jo Lee\n\n{BODY}"
    assert strip_furniture(top, author="Jo Lee") == top


def test_normalise_keeps_paragraphs_and_removes_invisible_characters():
    assert normalise("a\n\n\n\nb\nc") == "a\n\nb\nc"
    assert normalise("\ufeffsoft\u00adware \u200bnow\x07") == "software now"
    assert normalise("tab\there\u2009thin \u202fnarrow") == "tab here thin narrow"


def test_clean_text_is_idempotent(seed):
    raw = SEED.read_text(encoding="utf-8")
    once = clean_text(raw, "Matthew Broersma")
    assert clean_text(once, "Matthew Broersma") == once


def test_hard_wrapped_text_is_rejoined():
    wrapped = (
        "The council approved the new harbour park plan on Monday after a\n"
        "long debate about the cost of cleaning the old port, which had been\n"
        "closed to cargo ships since 1988.\n\n"
        "Work starts in May.\n- a list item\n- another item"
    )
    assert unwrap_lines(wrapped) == (
        "The council approved the new harbour park plan on Monday after a "
        "long debate about the cost of cleaning the old port, which had been "
        "closed to cargo ships since 1988.\n\n"
        "Work starts in May.\n- a list item\n- another item"
    )


def test_only_wrapped_looking_texts_are_unwrapped_by_default(seed):
    assert not looks_hard_wrapped(seed.text)
    email = "\n".join(["A line of an e-mail that was wrapped at seventy-two columns by a"] * 10)
    assert looks_hard_wrapped(email)
    assert "\n" not in clean_text(email)
