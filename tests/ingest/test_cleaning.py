import pytest

from ingest.cleaning import clean_text, normalise, strip_furniture
from ingest.loaders import load_path, split_front_matter
from tests.conftest import SEED

pytestmark = pytest.mark.unit


def test_seed_article_loses_its_site_furniture():
    [article] = load_path(SEED, 10**7)
    assert article.title == "SoftBank, OpenAI Create Joint Venture To Market AI In Japan"
    assert article.author == "Matthew Broersma"
    assert "$3 billion" in article.text
    assert article.text.rstrip().endswith("Shigeru Ishiba on Monday.")
    for furniture in ["Recent Posts", "Cybertruck", "Binance", "Matt Broersma is", "Broersma"]:
        assert furniture not in article.text


def test_furniture_heading_early_in_a_text_is_kept():
    text = "Read more\n\n" + "A long body sentence. " * 30
    assert strip_furniture(text).startswith("Read more")


def test_normalise_keeps_paragraphs():
    assert normalise("a\n\n\n\nb\nc") == "a\n\nb\nc"


def test_clean_text_without_author_keeps_bylines():
    assert "Jo Lee" in clean_text("Body text here.\n\nJo Lee\n\nMore body.")


def test_front_matter_is_optional():
    assert split_front_matter("No front matter") == ({}, "No front matter")
