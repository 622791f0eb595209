"""Question files: JSONL, CSV and SQuAD v2.0 JSON, read into ``Question`` records.

A bad line is reported as one line naming ``file:line`` and the reason, and skipped.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import InputError, NotFound
from rag.records import Article

FORMATS = ("auto", "jsonl", "csv", "squad")
Problem = Callable[[str], None]


@dataclass(frozen=True)
class Question:
    """One question to ask. ``answerable`` is None when the file does not say."""

    question: str
    id: str
    answers: tuple[str, ...] = ()
    answerable: bool | None = None
    source: str | None = None
    # SQuAD: where the question's paragraph sits in its article's text.
    paragraph_span: tuple[int, int] | None = None


@dataclass
class Dataset:
    """Questions, plus the articles to ingest first (SQuAD) and the collection for them."""

    path: str
    format: str
    questions: list[Question]
    articles: list[Article] = field(default_factory=list)
    collection: str | None = None
    problems: list[str] = field(default_factory=list)


def question_id(text: str) -> str:
    """A stable id from the question's text (whitespace-insensitive).

    >>> question_id("How much?") == question_id("  How   much? ")
    True
    >>> question_id("How much?")
    'q-fa22a28489f2'
    """
    return "q-" + hashlib.sha1(" ".join(text.split()).encode("utf-8")).hexdigest()[:12]


def parse_bool(value: object) -> bool | None:
    """A yes/no cell: booleans, 1/0, true/false, yes/no, y/n; empty means unknown.

    >>> parse_bool("Yes"), parse_bool(0), parse_bool(""), parse_bool(None)
    (True, False, None, None)
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("", "none", "null"):
        return None
    if text in ("1", "true", "yes", "y", "t"):
        return True
    if text in ("0", "false", "no", "n", "f"):
        return False
    raise InputError(f"not a yes/no value: {value!r}")


def parse_answers(value: object) -> tuple[str, ...]:
    """Gold answers: a list, a JSON list in a string, or ``|``-separated alternatives.

    >>> parse_answers('["$3 billion", "3 billion dollars"]')
    ('$3 billion', '3 billion dollars')
    >>> parse_answers("Tokyo | Tokio"), parse_answers(None)
    (('Tokyo', 'Tokio'), ())
    """
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"answers: not a JSON list ({exc.msg})") from None
        else:
            value = text.split("|")
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list | tuple):
        raise InputError(f"answers: expected a list of strings, got {type(value).__name__}")
    answers = []
    for item in value:
        if not isinstance(item, str | int | float) or isinstance(item, bool):
            raise InputError(f"answers: expected strings, got {type(item).__name__}")
        if str(item).strip():
            answers.append(str(item).strip())
    return tuple(dict.fromkeys(answers))


def question_from(record: dict) -> Question:
    """A Question from one JSONL object or CSV row; raises ValueError naming the field."""
    text = record.get("question")
    if not isinstance(text, str) or not text.strip():
        raise InputError("question: missing or empty")
    raw_answers = record.get("answers", record.get("answer"))
    answers = parse_answers(raw_answers)
    try:
        answerable = parse_bool(record.get("answerable"))
    except ValueError as exc:
        raise InputError(f"answerable: {exc}") from None
    if answerable is None and answers:
        answerable = True
    source = record.get("source")
    if source is not None and not isinstance(source, str):
        raise InputError(f"source: expected a string, got {type(source).__name__}")
    qid = record.get("id")
    if qid is not None and not isinstance(qid, str | int):
        raise InputError(f"id: expected a string, got {type(qid).__name__}")
    qid = str(qid).strip() if qid is not None and str(qid).strip() else question_id(text)
    return Question(
        question=" ".join(text.split()),
        id=qid,
        answers=answers,
        answerable=answerable,
        source=(source or "").strip() or None,
    )


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _unique_ids(questions: list[Question], where: str, problem: Problem) -> list[Question]:
    """Give repeated ids a stable ``-2``, ``-3`` suffix so results stay one line each."""
    seen: dict[str, int] = {}
    out = []
    for q in questions:
        count = seen.get(q.id, 0) + 1
        seen[q.id] = count
        if count > 1:
            new_id = f"{q.id}-{count}"
            problem(f"{where}: id {q.id!r} repeats; this one is {new_id!r}")
            q = Question(q.question, new_id, q.answers, q.answerable, q.source, q.paragraph_span)
        out.append(q)
    return out


def load_jsonl(path: str | Path, problem: Problem = _stderr) -> list[Question]:
    """One JSON object per line: ``question`` and optional ``id``, ``answers``,
    ``answerable``, ``source``. Blank lines and lines starting with ``#`` are skipped."""
    path = Path(path)
    questions = []
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                problem(f"{path}:{number}: skipped, not JSON ({exc.msg})")
                continue
            if not isinstance(record, dict):
                problem(f"{path}:{number}: skipped, expected a JSON object")
                continue
            try:
                questions.append(question_from(record))
            except ValueError as exc:
                problem(f"{path}:{number}: skipped, {exc}")
    return _unique_ids(questions, str(path), problem)


def load_csv(path: str | Path, problem: Problem = _stderr) -> list[Question]:
    """A header row with ``question`` and optional ``id``, ``answers`` (JSON list or
    ``|``-separated), ``answerable`` (yes/no, true/false, 1/0) and ``source``."""
    path = Path(path)
    questions = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if "question" not in fields:
            raise InputError(f"{path}: no 'question' column in the header row")
        reader.fieldnames = fields
        for row in reader:
            number = reader.line_num
            if None in row:
                problem(f"{path}:{number}: skipped, more cells than header columns")
                continue
            record = {k: (v if v is None else v.strip()) for k, v in row.items()}
            if not any(record.values()):
                continue
            record = {k: v for k, v in record.items() if v not in (None, "")}
            try:
                questions.append(question_from(record))
            except ValueError as exc:
                problem(f"{path}:{number}: skipped, {exc}")
    return _unique_ids(questions, str(path), problem)


def squad_collection_name(path: str | Path) -> str:
    """The default collection for a SQuAD file: ``squad-<stem>`` (the stem if it says squad).

    >>> squad_collection_name("data/dev-v2.0.json"), squad_collection_name("squad-v2-dev-a.json")
    ('squad-dev-v2_0', 'squad-v2-dev-a')
    """
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(path).stem).strip("_-") or "data"
    name = stem if stem.lower().startswith("squad") else f"squad-{stem}"
    return name[:60].rstrip("_-").ljust(3, "_")


def load_squad(
    path: str | Path, problem: Problem = _stderr
) -> tuple[list[Article], list[Question]]:
    """SQuAD v1.1/v2.0 JSON: each article (title, its paragraphs joined by blank lines)
    becomes one Article with source ``squad:<title>``; its questions expect that source."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise InputError(f"{path}: not a SQuAD file (expected an object with a 'data' list)")
    articles: list[Article] = []
    questions: list[Question] = []
    for i, entry in enumerate(data["data"]):
        where = f"{path}: data[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("paragraphs"), list):
            problem(f"{where}: skipped, no 'paragraphs' list")
            continue
        title = str(entry.get("title") or f"article-{i}")
        source = f"squad:{title}"
        texts: list[str] = []
        spans: list[tuple[int, int]] = []
        offset = 0
        for j, paragraph in enumerate(entry["paragraphs"]):
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            if not isinstance(context, str) or not context.strip():
                problem(f"{where}.paragraphs[{j}]: skipped, no 'context' text")
                continue
            span = (offset, offset + len(context))
            texts.append(context)
            spans.append(span)
            offset = span[1] + 2  # the blank line joining paragraphs
            for k, qa in enumerate(paragraph.get("qas") or []):
                try:
                    questions.append(_squad_question(qa, source, span))
                except ValueError as exc:
                    problem(f"{where}.paragraphs[{j}].qas[{k}]: skipped, {exc}")
        if texts:
            title = title.replace("_", " ")
            articles.append(Article(source=source, title=title, text="\n\n".join(texts)))
    return articles, _unique_ids(questions, str(path), problem)


def _squad_question(qa: object, source: str, span: tuple[int, int]) -> Question:
    if not isinstance(qa, dict):
        raise InputError("expected an object")
    text = qa.get("question")
    if not isinstance(text, str) or not text.strip():
        raise InputError("question: missing or empty")
    impossible = bool(qa.get("is_impossible", False))
    golds = [a.get("text", "") for a in qa.get("answers") or [] if isinstance(a, dict)]
    answers = () if impossible else parse_answers(golds)
    return Question(
        question=" ".join(text.split()),
        id=str(qa.get("id") or question_id(text)),
        answers=answers,
        answerable=not impossible,
        source=source,
        paragraph_span=span,
    )


def detect_format(path: str | Path) -> str:
    """jsonl, csv or squad, from the file name (and for ``.json``, its first bytes).

    >>> detect_format("q.jsonl"), detect_format("q.CSV")
    ('jsonl', 'csv')
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    if suffix == ".json":
        with path.open(encoding="utf-8-sig") as handle:
            head = handle.read(64).lstrip()
        if head.startswith("{"):
            return "squad"
        raise InputError(f"{path}: a .json file must be SQuAD; write questions as JSONL or CSV")
    raise InputError(f"{path}: unknown question file type; use --format jsonl, csv or squad")


def load_dataset(
    path: str | Path,
    format: str = "auto",
    *,
    collection: str | None = None,
    problem: Problem = _stderr,
) -> Dataset:
    """Read a question file. SQuAD articles are returned for ingestion into ``collection``."""
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"{path}: no such question file")
    if format not in FORMATS:
        raise InputError(f"format: {format!r}, expected one of {', '.join(FORMATS)}")
    fmt = detect_format(path) if format == "auto" else format
    problems: list[str] = []

    def report(message: str) -> None:
        problems.append(message)
        problem(message)

    if fmt == "squad":
        articles, questions = load_squad(path, report)
        return Dataset(
            str(path), fmt, questions, articles, collection or squad_collection_name(path), problems
        )
    loader = load_jsonl if fmt == "jsonl" else load_csv
    return Dataset(str(path), fmt, loader(path, report), collection=collection, problems=problems)


def as_questions(items: Iterable[Question | dict | str]) -> list[Question]:
    """Questions from Question records, dicts (as in JSONL) or plain strings."""
    out = []
    for n, item in enumerate(items, 1):
        if isinstance(item, Question):
            out.append(item)
        elif isinstance(item, str):
            out.append(question_from({"question": item}))
        elif isinstance(item, dict):
            try:
                out.append(question_from(item))
            except ValueError as exc:
                raise InputError(f"questions[{n - 1}]: {exc}") from None
        else:
            kind = type(item).__name__
            raise InputError(f"questions[{n - 1}]: expected a dict or str, got {kind}")
    return _unique_ids(out, "questions", _stderr)


def select(
    questions: Sequence[Question],
    *,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> list[Question]:
    """A seeded random sample (kept in file order), then the first ``limit``.

    >>> qs = [Question(str(i), str(i)) for i in range(10)]
    >>> [q.id for q in select(qs, sample=3, seed=1)] == [q.id for q in select(qs, sample=3, seed=1)]
    True
    >>> [q.id for q in select(qs, limit=2)]
    ['0', '1']
    """
    chosen = list(questions)
    if sample is not None and sample < len(chosen):
        picked = set(random.Random(seed).sample(range(len(chosen)), sample))
        chosen = [q for i, q in enumerate(chosen) if i in picked]
    if limit is not None:
        chosen = chosen[:limit]
    return chosen
