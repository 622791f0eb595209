"""Question files: JSONL, CSV and SQuAD v2.0, with bad lines reported as file:line."""

import json

import pytest

from ingest.evaluation.datasets import (
    Question,
    detect_format,
    load_dataset,
    question_id,
    select,
)
from tests.conftest import ROOT

pytestmark = pytest.mark.unit


def _load(path, fmt="auto"):
    problems = []
    dataset = load_dataset(path, fmt, problem=problems.append)
    return dataset, problems


def test_jsonl_fields_defaults_and_bad_lines(tmp_path):
    path = tmp_path / "q.jsonl"
    lines = [
        {"id": "a", "question": "How much?", "answers": ["$3 billion"], "source": "c/a.txt"},
        {"question": "Who runs it?", "answers": "Sam Altman"},
        {"question": "Is it open?", "answerable": False},
        {"question": "Just asking"},
        "not json {",
        ["a", "list"],
        {"answers": ["x"]},
        {"question": "Bad flag", "answerable": "maybe"},
        {"question": "Bad answers", "answers": {"x": 1}},
    ]
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines)
    path.write_text("# a comment\n\n" + text + "\n", encoding="utf-8")
    dataset, problems = _load(path)
    assert dataset.format == "jsonl" and dataset.articles == []
    a, b, c, d = dataset.questions
    assert a == Question("How much?", "a", ("$3 billion",), True, "c/a.txt")
    assert b.answers == ("Sam Altman",) and b.answerable is True and b.id == question_id(b.question)
    assert c.answerable is False and c.answers == ()
    assert d.answerable is None
    assert problems == [
        f"{path}:7: skipped, not JSON (Expecting value)",
        f"{path}:8: skipped, expected a JSON object",
        f"{path}:9: skipped, question: missing or empty",
        f"{path}:10: skipped, answerable: not a yes/no value: 'maybe'",
        f"{path}:11: skipped, answers: expected a list of strings, got dict",
    ]
    assert dataset.problems == problems


def test_problems_go_to_stderr_by_default(tmp_path, capsys):
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "ok?"}\n{"question": ""}\n', encoding="utf-8")
    assert len(load_dataset(path).questions) == 1
    assert capsys.readouterr().err.strip() == f"{path}:2: skipped, question: missing or empty"


def test_repeated_ids_get_stable_suffixes(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "Same?"}\n{"question": "Same?"}\n', encoding="utf-8")
    dataset, problems = _load(path)
    first, second = dataset.questions
    assert second.id == first.id + "-2" and len(problems) == 1


def test_csv_with_list_and_pipe_answers(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(
        "Question,answers,answerable,source,id\n"
        'How much?,"[""$3 billion"", ""3 billion dollars""]",yes,corpus/a.txt,q1\n'
        "Where?,Tokyo | Tokio,,,\n"
        "Who is CEO?,,no,,\n"
        ",x,yes,,\n"
        "Why?,,perhaps,,\n"
        "\n"
        '"Multi\nline?",42,1,,\n',
        encoding="utf-8",
    )
    dataset, problems = _load(path)
    assert dataset.format == "csv"
    q1, q2, q3, q4 = dataset.questions
    assert q1 == Question(
        "How much?", "q1", ("$3 billion", "3 billion dollars"), True, "corpus/a.txt"
    )
    assert q2.answers == ("Tokyo", "Tokio") and q2.answerable is True and q2.source is None
    assert q3.answerable is False
    assert q4.question == "Multi line?" and q4.answers == ("42",)
    assert problems == [
        f"{path}:5: skipped, question: missing or empty",
        f"{path}:6: skipped, answerable: not a yes/no value: 'perhaps'",
    ]


def test_csv_without_question_column_fails_with_the_file_name(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("text,answers\nHow?,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"q\.csv: no 'question' column"):
        load_dataset(path)


def _squad(tmp_path):
    data = {
        "version": "v2.0",
        "data": [
            {
                "title": "Normans",
                "paragraphs": [
                    {
                        "context": "The Normans were in Normandy.",
                        "qas": [
                            {
                                "id": "n1",
                                "question": "Where were the Normans?",
                                "answers": [
                                    {"text": "Normandy", "answer_start": 20},
                                    {"text": "Normandy", "answer_start": 20},
                                ],
                                "is_impossible": False,
                            },
                            {
                                "id": "n2",
                                "question": "Where were the Vikings?",
                                "answers": [],
                                "plausible_answers": [{"text": "Normandy", "answer_start": 20}],
                                "is_impossible": True,
                            },
                        ],
                    },
                    {"context": "Rollo was their leader.", "qas": [{"id": "n3", "question": ""}]},
                    {"qas": []},
                ],
            },
            {"title": "Broken"},
        ],
    }
    path = tmp_path / "dev-small.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_squad_articles_questions_and_offsets(tmp_path):
    path = _squad(tmp_path)
    dataset, problems = _load(path)
    assert dataset.format == "squad" and dataset.collection == "squad-dev-small"
    [article] = dataset.articles
    assert article.source == "squad:Normans" and article.title == "Normans"
    assert article.text == "The Normans were in Normandy.\n\nRollo was their leader."
    n1, n2 = dataset.questions
    assert n1.answers == ("Normandy",) and n1.answerable is True and n1.source == "squad:Normans"
    assert n2.answers == () and n2.answerable is False
    start, end = n1.paragraph_span
    assert article.text[start:end] == "The Normans were in Normandy."
    assert problems == [
        f"{path}: data[0].paragraphs[1].qas[0]: skipped, question: missing or empty",
        f"{path}: data[0].paragraphs[2]: skipped, no 'context' text",
        f"{path}: data[1]: skipped, no 'paragraphs' list",
    ]


def test_squad_collection_can_be_chosen(tmp_path):
    dataset = load_dataset(_squad(tmp_path), "squad", collection="mine", problem=lambda m: None)
    assert dataset.collection == "mine"


def test_the_shared_squad_file_loads_if_present():
    path = ROOT.parent / "shared" / "datasets" / "squad-v2-dev-a.json"
    if not path.exists():
        pytest.skip("shared SQuAD file not here")
    dataset = load_dataset(path, problem=lambda m: None)
    assert len(dataset.articles) == 8 and len(dataset.questions) == 2828
    assert dataset.collection == "squad-v2-dev-a" and dataset.problems == []
    assert sum(q.answerable is False for q in dataset.questions) == 1529


def test_not_squad_json_and_unknown_types_are_refused(tmp_path):
    listing = tmp_path / "q.json"
    listing.write_text('[{"question": "x"}]', encoding="utf-8")
    with pytest.raises(ValueError, match="must be SQuAD"):
        detect_format(listing)
    with pytest.raises(ValueError, match="not a SQuAD file"):
        load_dataset(listing, "squad")
    other = tmp_path / "q.txt"
    other.write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown question file type"):
        load_dataset(other)
    with pytest.raises(FileNotFoundError, match="no such question file"):
        load_dataset(tmp_path / "missing.jsonl")


def test_the_corpus_questions_file():
    dataset, problems = _load(ROOT / "corpus" / "questions.jsonl")
    assert problems == [] and 10 <= len(dataset.questions) <= 15
    unanswerable = [q for q in dataset.questions if q.answerable is False]
    assert len(dataset.questions) / 4 <= len(unanswerable) <= len(dataset.questions) / 2
    assert all(q.answers for q in dataset.questions if q.answerable)
    assert {q.source for q in dataset.questions} == {"corpus/softbank-openai-japan.txt"}


def test_sample_is_seeded_and_limit_applies_after():
    qs = [Question(f"q{i}?", str(i)) for i in range(20)]
    a = select(qs, sample=5, seed=3)
    assert a == select(qs, sample=5, seed=3) and len(a) == 5
    assert a != select(qs, sample=5, seed=4)
    assert [int(q.id) for q in a] == sorted(int(q.id) for q in a)  # file order kept
    assert select(qs, sample=5, seed=3, limit=2) == a[:2]
    assert select(qs, sample=50) == qs
