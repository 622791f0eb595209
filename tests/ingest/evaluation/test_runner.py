"""evaluate() and `rag eval` with the hash embedder, a scripted LLM and a real Chroma."""

import json
import re

import pytest

from ingest.evaluation import evaluate
from ingest.evaluation.runner import REPORT, RESULTS, SUMMARY
from rag.backends.chroma import ChromaStore
from rag.cli import main
from rag.records import Article, Chunk, chunk_id_for

pytestmark = pytest.mark.unit

ARTICLES = {
    "/articles/softbank.txt": "SoftBank will pay OpenAI $3 billion a year to use its services. "
    "The venture will hire 1,000 people in Japan.",
    "/articles/bakery.txt": "The bakery on Elm Street sells 300 loaves of rye bread every morning. "
    "Its owner, Ada Brown, opened it in 1998.",
}
REPLIES = {
    "How much does SoftBank pay OpenAI?": "$3 billion a year",
    "How many people will the venture hire?": "1,000 people",
    "What does the bakery charge for rye bread?": "300 loaves",
}
QUESTIONS = [
    {
        "id": "pay",
        "question": "How much does SoftBank pay OpenAI?",
        "answers": ["$3 billion a year"],
        "source": "articles/softbank.txt",
    },
    {
        "id": "hire",
        "question": "How many people will the venture hire?",
        "answers": ["1,000"],
        "source": "articles/softbank.txt",
    },
    {
        "id": "opened",
        "question": "When did Ada Brown open the bakery?",
        "answers": ["1998"],
        "source": "articles/bakery.txt",
    },
    {"id": "mayor", "question": "Who is the mayor of Elm Street?", "answerable": False},
    {
        "id": "price",
        "question": "What does the bakery charge for rye bread?",
        "answerable": False,
        "source": "articles/bakery.txt",
    },
]
ROW_KEYS = {
    "id",
    "question",
    "answer",
    "text",
    "shape",
    "claims",
    "abstained",
    "citations",
    "gold_answers",
    "answerable",
    "exact_match",
    "f1",
    "expected_source",
    "source_retrieved",
    "retrieved_rank",
    "answer_rank",
    "citation_supported",
    "latency_s",
    "prompt_tokens",
    "completion_tokens",
    "copy_prob",
}
SUMMARY_KEYS = {
    "n",
    "n_answerable",
    "n_unanswerable",
    "em",
    "f1",
    "hit_at_1",
    "hit_at_5",
    "mrr",
    "abstain_precision",
    "abstain_recall",
    "false_abstain_rate",
    "citation_support",
    "latency_p50_s",
    "latency_p95_s",
    "config",
    "run",
}


def _reply(prompt: str) -> str:
    question = re.findall(r"^Question: (.*)$", prompt, re.MULTILINE)[-1]
    return REPLIES.get(question, "unknown")


@pytest.fixture
def indexed(settings, fake_embedder, scripted_llm):
    """Both articles in the test's Chroma; the scripted LLM knows three replies."""
    store = ChromaStore(settings)
    for source, text in ARTICLES.items():
        article = Article(source=source, title=source.split("/")[-1], text=text)
        chunk = Chunk(chunk_id_for(article.hash, 0, text), article.id, text, 0, len(text), 0)
        store.upsert_chunks(article, [chunk], fake_embedder.embed_documents([text]))
        store.put_article(article, 1)
    scripted_llm.reply = _reply
    return settings.with_overrides(min_relevance=0.05, evidence_sentences=4)


@pytest.fixture
def questions_file(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n", encoding="utf-8")
    return path


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_rows_and_summary_worked_by_hand(indexed, questions_file, tmp_path):
    out = tmp_path / "out"
    result = evaluate(questions_file, settings=indexed, out_dir=out)
    rows = {r["id"]: r for r in result.rows}
    assert [r["id"] for r in result.rows] == [q["id"] for q in QUESTIONS]
    assert all(set(r) == ROW_KEYS for r in result.rows)

    pay = rows["pay"]
    assert pay["answer"] == "$3 billion a year" and pay["exact_match"] == 1.0
    assert pay["text"] == "$3 billion a year [1]" and pay["shape"] == "factoid"
    assert pay["claims"] == [{"text": "$3 billion a year", "citations": [1], "passed": True}]
    assert pay["retrieved_rank"] == 1 and pay["source_retrieved"] is True
    assert pay["citation_supported"] is True and pay["citations"][0]["source"].endswith(
        "softbank.txt"
    )
    hire = rows["hire"]  # "1,000 people" against "1,000": P 1/2, R 1 -> F1 2/3
    assert hire["exact_match"] == 0.0 and hire["f1"] == pytest.approx(2 / 3, abs=1e-4)
    # The model will not copy, but the sentence covers the question: it answers, whole.
    opened = rows["opened"]
    assert not opened["abstained"] and opened["shape"] == "explanation"
    assert opened["answer"] == opened["text"] == "Its owner, Ada Brown, opened it in 1998. [1]"
    assert opened["f1"] == pytest.approx(2 / 9, abs=1e-4)  # 1 of 8 words is "1998"
    assert opened["retrieved_rank"] == 1
    assert rows["mayor"]["abstained"] and rows["mayor"]["exact_match"] == 1.0
    assert rows["mayor"]["retrieved_rank"] is None and rows["mayor"]["source_retrieved"] is None
    assert not rows["price"]["abstained"] and rows["price"]["exact_match"] == 0.0

    s = result.summary
    assert set(s) >= SUMMARY_KEYS
    assert (s["n"], s["n_answerable"], s["n_unanswerable"]) == (5, 3, 2)
    assert s["em"] == pytest.approx(1 / 3, abs=1e-4)
    assert s["f1"] == pytest.approx((1 + 2 / 3 + 2 / 9) / 3, abs=1e-4)
    assert s["abstain_precision"] == 1.0 and s["abstain_recall"] == 0.5
    assert s["false_abstain_rate"] == 0.0
    factoid = s["by_shape"]["factoid"]  # pay, hire, mayor, price; "opened" is an explanation
    assert factoid["n"] == 4 and factoid["abstain_rate"] == 0.25
    assert factoid["f1"] == pytest.approx((1 + 2 / 3) / 2, abs=1e-3)
    assert s["citation_support"] == 1.0
    assert s["hit_at_1"] == 1.0 and s["mrr"] == 1.0
    assert s["run"]["n_asked"] == 5 and s["config"]["retrieval"] == "hybrid"

    assert _lines(out / RESULTS) == [rows[q["id"]] for q in QUESTIONS]
    assert json.loads((out / SUMMARY).read_text(encoding="utf-8")) == s
    html = (out / REPORT).read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 3 and "How much does SoftBank" in html


def test_resume_skips_answered_questions(indexed, questions_file, tmp_path, scripted_llm):
    out = tmp_path / "out"
    first = evaluate(questions_file, settings=indexed, out_dir=out, limit=2, warmup=False)
    assert [r["id"] for r in first.rows] == ["pay", "hire"]
    scripted_llm.prompts.clear()

    second = evaluate(questions_file, settings=indexed, out_dir=out, warmup=False)
    asked = [re.findall(r"^Question: (.*)$", p, re.MULTILINE)[-1] for p in scripted_llm.prompts]
    assert "How much does SoftBank pay OpenAI?" not in asked
    assert second.summary["run"]["n_asked"] == 3 and second.summary["run"]["n_resumed"] == 2
    assert second.summary["n"] == 5
    assert [r["id"] for r in _lines(out / RESULTS)] == ["pay", "hire", "opened", "mayor", "price"]

    third = evaluate(questions_file, settings=indexed, out_dir=out)
    assert third.summary["run"]["n_asked"] == 0 and third.summary["run"]["warmup_s"] == 0
    assert third.rows == second.rows and len(_lines(out / RESULTS)) == 5


def test_resume_warns_when_settings_changed(indexed, questions_file, tmp_path, capsys):
    out = tmp_path / "out"
    evaluate(questions_file, settings=indexed, out_dir=out, limit=1)
    evaluate(questions_file, settings=indexed.with_overrides(top_k=2), out_dir=out)
    assert "resuming with different settings (top_k)" in capsys.readouterr().err


def test_rejected_questions_are_error_rows_and_retried(indexed, tmp_path):
    out = tmp_path / "out"
    questions = ["How much does SoftBank pay OpenAI?", {"id": "long", "question": "x" * 5000}]
    result = evaluate(questions, settings=indexed, out_dir=out)
    assert result.summary["n"] == 2 and result.summary["n_errors"] == 1
    assert "5000 characters" in result.rows[1]["error"]
    assert result.summary["em"] is None  # no gold answers given
    again = evaluate(questions, settings=indexed, out_dir=out)
    assert again.summary["run"]["n_asked"] == 1  # only the failed one


def test_workers_give_the_same_rows(indexed, questions_file):
    one = evaluate(questions_file, settings=indexed, workers=1)
    three = evaluate(questions_file, settings=indexed, workers=3)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "latency_s"} for r in rows]  # noqa: E731
    assert strip(one.rows) == strip(three.rows)


def test_sample_and_limit(indexed, questions_file):
    sampled = evaluate(questions_file, settings=indexed, sample=3, seed=7)
    assert len(sampled.rows) == 3
    again = evaluate(questions_file, settings=indexed, sample=3, seed=7)
    assert [r["id"] for r in sampled.rows] == [r["id"] for r in again.rows]
    assert len(evaluate(questions_file, settings=indexed, sample=3, seed=7, limit=1).rows) == 1


def test_empty_collection_is_refused(settings, fake_embedder, scripted_llm, questions_file):
    with pytest.raises(ValueError, match="collection 'articles' .* is empty; run: rag ingest "):
        evaluate(questions_file, settings=settings)


def test_rag_eval_command(indexed, questions_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("rag.commands.settings_from", lambda args, **extra: indexed)
    out = tmp_path / "cli-out"
    assert main(["eval", str(questions_file), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr()
    assert re.search(r"^f1\s+0\.630$", printed.out, re.MULTILINE)
    assert "asked 5, resumed 0" in printed.err
    assert {p.name for p in out.iterdir()} == {RESULTS, SUMMARY, REPORT}
    assert main(["eval", str(questions_file), "--out", str(out), "--quiet", "--limit", "2"]) == 0
    assert "asked 0, resumed 2" in capsys.readouterr().err


def test_progress_in_a_log_is_a_line_per_step_not_a_redrawn_bar(
    indexed, questions_file, tmp_path, monkeypatch, capsys
):
    """stderr is not a terminal here (as when written to a log file): lines, no \\r."""
    monkeypatch.setattr("rag.commands.settings_from", lambda args, **extra: indexed)
    assert main(["eval", str(questions_file), "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    steps = [line for line in err.splitlines() if line.startswith("eval: ")]
    assert steps == [f"eval: {n}/5 questions ({20 * n}%)" for n in range(1, 6)]


def test_rag_eval_reports_bad_input_in_one_line(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"rag: error: {tmp_path}/nope.jsonl: no such question file"
    )


def test_squad_file_is_ingested_into_its_own_collection(
    settings, fake_embedder, scripted_llm, tmp_path
):
    data = {
        "version": "v2.0",
        "data": [
            {
                "title": "Bakery",
                "paragraphs": [
                    {
                        "context": ARTICLES["/articles/bakery.txt"],
                        "qas": [
                            {
                                "id": "b1",
                                "question": "What does the bakery charge for rye bread?",
                                "answers": [{"text": "300 loaves", "answer_start": 0}],
                                "is_impossible": False,
                            },
                            {
                                "id": "b2",
                                "question": "Who is the mayor of Elm Street?",
                                "answers": [],
                                "is_impossible": True,
                            },
                        ],
                    }
                ],
            },
            {
                "title": "SoftBank",
                "paragraphs": [
                    {
                        "context": ARTICLES["/articles/softbank.txt"],
                        "qas": [
                            {
                                "id": "s1",
                                "question": "How much does SoftBank pay OpenAI?",
                                "answers": [{"text": "$3 billion", "answer_start": 25}],
                                "is_impossible": False,
                            }
                        ],
                    }
                ],
            },
        ],
    }
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    scripted_llm.reply = _reply
    result = evaluate(
        path, settings=settings.with_overrides(min_relevance=0.05), out_dir=tmp_path / "o"
    )
    s = result.summary
    assert s["config"]["collection"] == "squad-tiny" and s["ingest"]["n_articles"] == 2
    assert ChromaStore(settings, "squad-tiny").count_chunks() >= 2
    assert ChromaStore(settings).count_chunks() == 0  # the default collection is untouched
    assert [r["expected_source"] for r in result.rows] == ["squad:Bakery"] * 2 + ["squad:SoftBank"]
    assert s["hit_at_1"] == 1.0 and s["n_answerable"] == 2 and s["n_unanswerable"] == 1
