"""Ask every question, score each answer, append it to results.jsonl, summarise the run.

Re-running into the same ``out_dir`` resumes: questions whose id already has a result
line are not asked again.
"""

from __future__ import annotations

import contextlib
import json
import queue
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingest.evaluation import metrics
from ingest.evaluation.datasets import Dataset, Question, as_questions, load_dataset, select
from rag.errors import InputError
from rag.settings import Settings, resolve

RESULTS = "results.jsonl"
SUMMARY = "summary.json"
REPORT = "report.html"
RETRIEVAL_DEPTH = 10  # passages looked at for hit@k / MRR (the answer itself uses top_k)
CONFIG_FIELDS = (
    "collection",
    "retrieval",
    "top_k",
    "fetch_k",
    "evidence_sentences",
    "min_relevance",
    "min_coverage",
    "min_copy_prob",
    "chunk_size",
    "chunk_overlap",
    "max_tokens",
    "n_ctx",
    "n_threads",
    "embedding_model",
    "llm_model",
)


@dataclass
class EvalResult:
    """``summary`` is what summary.json holds; ``rows`` one dict per question, in file order."""

    summary: dict
    rows: list[dict]


# ----- one question -------------------------------------------------------------------
def _citation_dict(c) -> dict:
    return {
        "number": c.number,
        "title": c.title,
        "source": c.source,
        "start": c.start,
        "end": c.end,
        "quote": c.quote,
    }


def score_row(question: Question, answer, retrieved: list | None = None) -> dict:
    """The results.jsonl line for one answered question.

    ``answer`` is what is scored: the short answer of a factoid, else the whole text
    (scored without its markers), so SQuAD's F1 compares spans with spans; ``text`` is the whole
    answer as shown, ``claims`` its claims with their citation numbers and checks.
    ``retrieved`` are the passages used for the retrieval ranks (default: the answer's).
    """
    retrieved = answer.passages if retrieved is None else retrieved
    golds = list(question.answers) if question.answerable is not False else []
    scored_text = answer.short_answer or answer.text
    prediction = metrics.prediction_text(scored_text, answer.abstained)
    gradable = question.answerable is False or (question.answerable and golds)
    em = metrics.best_over_golds(metrics.exact_match, prediction, golds) if gradable else None
    f1 = metrics.best_over_golds(metrics.f1_score, prediction, golds) if gradable else None
    rank = metrics.first_rank([p.source for p in retrieved], question.source or "")
    answer_rank = None
    if golds:
        answer_rank = next(
            (i for i, p in enumerate(retrieved, 1) if metrics.contains_gold(p.chunk.text, golds)),
            None,
        )
    supported = None
    if golds and not answer.abstained:
        supported = any(metrics.contains_gold(c.quote, golds) for c in answer.citations)
    return {
        "id": question.id,
        "question": question.question,
        "answer": scored_text,
        "text": answer.text,
        "shape": answer.shape,
        "abstained": bool(answer.abstained),
        "claims": [
            {"text": c.text, "citations": list(c.citations), "passed": c.check.passed}
            for c in answer.claims
        ],
        "citations": [_citation_dict(c) for c in answer.citations],
        "gold_answers": golds,
        "answerable": question.answerable,
        "exact_match": em,
        "f1": None if f1 is None else round(f1, 4),
        "expected_source": question.source,
        "source_retrieved": (rank is not None) if question.source else None,
        "retrieved_rank": rank if question.source else None,
        "answer_rank": answer_rank,
        "citation_supported": supported,
        "latency_s": round(float(answer.latency_s), 4),
        "prompt_tokens": int(answer.prompt_tokens),
        "completion_tokens": int(answer.completion_tokens),
        "copy_prob": None if answer.copy_prob is None else round(answer.copy_prob, 4),
    }


def error_row(question: Question, error: str) -> dict:
    return {
        "id": question.id,
        "question": question.question,
        "error": error,
        "answerable": question.answerable,
        "expected_source": question.source,
    }


def ask(assistant, question: Question, filters=None) -> dict:
    """Answer one question and score it; a question the assistant rejects becomes an error row."""
    try:
        answer = assistant.answer(question.question, filters=filters)
    except ValueError as exc:
        return error_row(question, str(exc))
    retrieved = None
    if question.source or question.answers:
        retrieved = assistant.retrieve(question.question, RETRIEVAL_DEPTH, filters)
    return score_row(question, answer, retrieved)


# ----- files --------------------------------------------------------------------------
def read_results(path: Path) -> dict[str, dict]:
    """Rows already in results.jsonl by question id (the last line wins); errors are retried."""
    done: dict[str, dict] = {}
    if not path.is_file():
        return done
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                qid = row["id"]
            except (json.JSONDecodeError, KeyError, TypeError):
                print(f"{path}:{number}: skipped, not a result line", file=sys.stderr)
                continue
            if row.get("error"):
                done.pop(qid, None)
            else:
                done[qid] = row
    return done


def config_of(settings: Settings) -> dict:
    dumped = settings.model_dump(mode="json")
    return {name: dumped.get(name) for name in CONFIG_FIELDS}


def _warn_if_config_changed(out_dir: Path, config: dict) -> None:
    try:
        before = json.loads((out_dir / SUMMARY).read_text(encoding="utf-8")).get("config", {})
    except (OSError, json.JSONDecodeError, AttributeError):
        return
    changed = sorted(k for k in config if k in before and before[k] != config[k])
    if changed:
        print(
            f"{out_dir / RESULTS}: resuming with different settings ({', '.join(changed)}); "
            "use a new --out to compare configurations",
            file=sys.stderr,
        )


# ----- datasets -----------------------------------------------------------------------
def _ingest_articles(dataset: Dataset, settings: Settings, progress: bool) -> dict:
    """Put a SQuAD file's articles into their collection (unchanged ones are skipped)."""
    from ingest import ingest_articles

    started = time.perf_counter()
    report = ingest_articles(dataset.articles, settings=settings, progress=progress)
    results = list(getattr(report, "results", report))
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
        if r.status == "failed":
            print(f"{r.source}: not ingested, {r.error}", file=sys.stderr)
    return {
        "collection": settings.collection,
        "n_articles": len(dataset.articles),
        "n_chunks": sum(r.n_chunks for r in results),
        "status": counts,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _require_index(settings: Settings) -> None:
    """Asking an empty collection would only measure abstentions: stop with a clear line."""
    from rag import registry
    from rag.commands import ingest_hint

    store = registry.open_store(settings)
    if not store.exists() or store.count_chunks() == 0:
        raise InputError(
            f"collection {settings.collection!r} in {store.location()} is empty; "
            f"run: {ingest_hint(settings)} (or pass --collection)"
        )


def _resolve(questions, format: str, collection: str | None) -> Dataset:
    if isinstance(questions, Dataset):
        return questions
    if isinstance(questions, str | Path):
        return load_dataset(questions, format, collection=collection)
    listed = as_questions(questions)
    return Dataset(path="", format="python", questions=listed, collection=collection)


# ----- the run ------------------------------------------------------------------------
def evaluate(
    questions: str | Path | Dataset | Iterable[Question | dict | str],
    *,
    settings: Settings | None = None,
    out_dir: str | Path | None = None,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    workers: int = 1,
    progress: bool = False,
    format: str = "auto",
    collection: str | None = None,
    warmup: bool = True,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    author: str | None = None,
) -> EvalResult:
    """Answer and score questions; with ``out_dir``, write results.jsonl, summary.json, report.html.

    ``questions``: a JSONL/CSV/SQuAD file path, or Question records, dicts or strings.
    A SQuAD file's articles are ingested first into ``collection`` (default ``squad-<stem>``).
    ``workers`` > 1 answers that many questions at once, each worker with its own copy of
    the model and an equal share of ``n_threads``.
    ``source``, ``since``, ``until``, ``author``: ask within that slice of the archive
    (as ``answer()``).

    >>> from ingest.evaluation import evaluate                       # doctest: +SKIP
    >>> evaluate("corpus/questions.jsonl").summary["f1"]          # doctest: +SKIP
    0.83
    """
    from rag.api import get_assistant, make_filters

    filters = make_filters(source, since, until, author)
    if workers < 1:
        raise InputError(f"workers: {workers}, must be at least 1")
    dataset = _resolve(questions, format, collection)
    settings = resolve(settings, collection=dataset.collection)
    chosen = select(dataset.questions, limit=limit, sample=sample, seed=seed)
    if not chosen:
        raise InputError(f"{dataset.path or 'questions'}: no questions to ask")

    started_at = datetime.now(UTC)
    started = time.perf_counter()
    ingest_info = _ingest_articles(dataset, settings, progress) if dataset.articles else None
    if not dataset.articles:
        _require_index(settings)
    config = config_of(settings)

    results_path = None
    done: dict[str, dict] = {}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        results_path = out / RESULTS
        done = read_results(results_path)
        if done:
            _warn_if_config_changed(out, config)
    pending = [q for q in chosen if q.id not in done]
    resumed = len(chosen) - len(pending)

    assistant = get_assistant(settings)
    warmup_s = 0.0
    if pending and warmup:  # load the models and indexes so latencies are warm
        t = time.perf_counter()
        with contextlib.suppress(ValueError):
            assistant.answer(pending[0].question)
        warmup_s = time.perf_counter() - t

    answering = time.perf_counter()
    new_rows = _run(assistant, pending, results_path, workers, progress, filters)
    answering_s = time.perf_counter() - answering
    rows_by_id = {**done, **new_rows}
    rows = [rows_by_id[q.id] for q in chosen if q.id in rows_by_id]
    wall = time.perf_counter() - started

    summary = metrics.summarize(rows)
    summary["answer_hit_at_1"] = metrics.hit_at_k(
        [r.get("answer_rank") for r in rows if r.get("gold_answers") and not r.get("error")], 1
    )
    summary["answer_hit_at_5"] = metrics.hit_at_k(
        [r.get("answer_rank") for r in rows if r.get("gold_answers") and not r.get("error")], 5
    )
    summary["dataset"] = {
        "path": dataset.path or None,
        "format": dataset.format,
        "n_questions": len(dataset.questions),
        "n_problems": len(dataset.problems),
    }
    summary["config"] = config
    if filters:
        summary["filters"] = filters.describe()
    summary["run"] = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_s": round(wall, 2),
        "warmup_s": round(warmup_s, 2),
        "n_asked": len(pending),
        "n_resumed": resumed,
        "questions_per_s": round(len(pending) / wall, 3) if wall > 0 and pending else None,
        "answering_s": round(answering_s, 2),
        "answered_per_s": round(len(pending) / answering_s, 3) if pending else None,
        "workers": workers,
        "limit": limit,
        "sample": sample,
        "seed": seed,
        "retrieval_depth": RETRIEVAL_DEPTH,
    }
    if ingest_info:
        summary["ingest"] = ingest_info

    if out_dir is not None:
        out = Path(out_dir)
        (out / SUMMARY).write_text(
            json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        from ingest.evaluation.report import write_report

        write_report(summary, rows, out / REPORT)
    return EvalResult(summary=summary, rows=rows)


def worker_assistants(assistant, workers: int) -> list:
    """One assistant per worker, sharing the embedder and the store. A model that serves one
    question at a time (llama.cpp in this process: ``for_worker``) gets a copy per worker,
    each with ``n_threads // workers`` threads; any other is shared as it is."""
    from rag.pipeline import Assistant

    llm = getattr(assistant, "llm", None)
    if not isinstance(assistant, Assistant) or not hasattr(llm, "for_worker"):
        return [assistant] * workers
    threads = max(1, assistant.settings.n_threads // workers)
    out = []
    for _ in range(workers):
        copy = llm.for_worker(threads)
        copy.warm_up()
        out.append(
            Assistant(
                assistant.settings, embedder=assistant.embedder, llm=copy, store=assistant.store
            )
        )
    return out


def _run(
    assistant,
    pending: list[Question],
    results_path: Path | None,
    workers: int,
    progress: bool,
    filters=None,
) -> dict[str, dict]:
    """Ask the pending questions, appending each scored row to results.jsonl as it arrives."""
    from rag.progress import progress as progress_bar

    rows: dict[str, dict] = {}
    handle = results_path.open("a", encoding="utf-8") if results_path else None
    bar = progress_bar(len(pending), "eval", "question", enabled=progress)

    def record(row: dict) -> None:
        rows[row["id"]] = row
        if handle:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            handle.flush()
        bar.update(1)

    try:
        if workers == 1:
            for question in pending:
                record(ask(assistant, question, filters))
        else:
            free: queue.Queue = queue.Queue()
            assistants = worker_assistants(assistant, workers)
            for one in assistants:
                free.put(one)

            def ask_free(question: Question) -> dict:
                one = free.get()
                try:
                    return ask(one, question, filters)
                finally:
                    free.put(one)

            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval") as pool:
                futures = [pool.submit(ask_free, q) for q in pending]
                try:
                    for future in as_completed(futures):
                        record(future.result())
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
            for one in assistants:
                if one is not assistant and hasattr(one.llm, "close"):
                    one.llm.close()
    finally:
        bar.close()
        if handle:
            handle.close()
    return rows
