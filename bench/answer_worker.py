"""A question-answering worker for before/after benchmarks: one checkout of the code per process.

    python bench/answer_worker.py CHECKOUT HOME

Imports ``rag`` from CHECKOUT (a checkout of this repository at any commit since the
Python API existed: ``rag.answer``, and ``ingest.ingest`` or the older ``rag.ingest``),
then reads one JSON request per line on stdin and writes one JSON reply per line on
stdout:

- ``{"ingest": [path, ...], "collection": name}`` → ``{"ok": true, "chunks": n}``;
  the paths are files or folders; ``{"ingest_articles": [{"source", "title", "text", ...}]}``
  ingests records (SQuAD articles) instead;
- ``{"ask": question, "collection": name}`` → the answer's fields (``text``, ``abstained``,
  ``citations``, ``short_answer``, ``shape``, ``copy_prob``, ``latency_s``, ``best_score``)
  plus ``wall_s``, the time the call took here.

Models load once, on the first request; every request uses HOME as the data directory.
``bench/answers.py`` runs one worker per checkout and interleaves the questions.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main() -> int:
    checkout, home = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        del os.environ[name]
    sys.path.insert(0, str(checkout))
    os.chdir(checkout)
    import rag

    def settings_for(request: dict):
        fields = {"home": home, "collection": request.get("collection") or "articles"}
        if request.get("n_threads"):
            fields["n_threads"] = int(request["n_threads"])
        return rag.Settings(**fields)

    def ingest_paths(paths, settings):
        try:
            run = rag.ingest  # older checkouts: rag.ingest
        except AttributeError:
            from ingest import ingest as run
        return run([Path(p) for p in paths], settings=settings)

    def ingest_records(records, settings):
        try:
            from rag.ingestion.indexer import ingest_articles  # older checkouts
        except ImportError:
            from ingest import ingest_articles
        from dataclasses import fields

        article_type = _article_type()
        known = {f.name for f in fields(article_type)}
        articles = [article_type(**{k: v for k, v in r.items() if k in known}) for r in records]
        return ingest_articles(articles, settings=settings)

    out = sys.stdout
    sys.stdout = sys.stderr  # anything the code prints must not corrupt the replies
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            settings = settings_for(request)
            if "ingest" in request or "ingest_articles" in request:
                if "ingest" in request:
                    report = ingest_paths(request["ingest"], settings)
                else:
                    report = ingest_records(request["ingest_articles"], settings)
                results = list(getattr(report, "results", report))
                reply = {"ok": True, "chunks": sum(r.n_chunks for r in results)}
            else:
                started = time.perf_counter()
                answer = rag.answer(request["ask"], settings=settings)
                reply = _answer_dict(answer)
                reply["wall_s"] = round(time.perf_counter() - started, 4)
        except Exception as exc:  # reported, the worker goes on
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply, ensure_ascii=False) + "\n")
        out.flush()
    return 0


def _article_type():
    try:
        from rag.records import Article
    except ImportError:
        from rag.core.records import Article
    return Article


def _answer_dict(answer) -> dict:
    passages = getattr(answer, "passages", []) or []
    claims = getattr(answer, "claims", None) or []
    return {
        "text": answer.text,
        "abstained": bool(answer.abstained),
        "short_answer": getattr(answer, "short_answer", None),
        "shape": getattr(answer, "shape", None),
        "claims": [{"text": c.text, "citations": list(c.citations)} for c in claims],
        "citations": [
            {
                "number": c.number,
                "article_id": c.article_id,
                "source": c.source,
                "start": c.start,
                "end": c.end,
                "quote": c.quote,
            }
            for c in answer.citations
        ],
        "copy_prob": answer.copy_prob,
        "latency_s": answer.latency_s,
        "best_score": max((p.score for p in passages), default=None),
        "sources": [p.source for p in passages],
    }


if __name__ == "__main__":
    raise SystemExit(main())
