import pytest
from pydantic import ValidationError

from rag.settings import Settings

pytestmark = pytest.mark.unit


def test_environment_overrides_defaults(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "7")
    monkeypatch.setenv("RAG_RETRIEVAL", "bm25")
    s = Settings()
    assert s.top_k == 7 and s.retrieval == "bm25"


def test_keyword_overrides_win_and_none_is_ignored(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "7")
    s = Settings().with_overrides(top_k=2, collection=None)
    assert s.top_k == 2 and s.collection == "articles"


@pytest.mark.parametrize(
    ("field", "value"),
    [("top_k", 0), ("retrieval", "magic"), ("collection", "a b"), ("chunk_overlap", 5000)],
)
def test_bad_values_name_the_field(field, value):
    with pytest.raises(ValidationError) as err:
        Settings(**{field: value})
    assert field in str(err.value) or "chunk_overlap" in str(err.value)


def test_unknown_field_is_rejected():
    with pytest.raises(ValidationError, match="top_kk"):
        Settings(top_kk=3)


def test_bad_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "many")
    with pytest.raises(ValidationError, match="top_k"):
        Settings()
