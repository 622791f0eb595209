"""Context recall: the share of answerable split-A questions where what the generator sees
contains a gold answer, before (the copy path: one evidence sentence) and after (the
free-text path: numbered passages fitted to the model's context).

Split A is eight Wikipedia articles of the SQuAD v2.0 development set (Rajpurkar, Jia and
Liang, 2018; CC BY-SA 4.0). Its articles are ingested into a scratch collection with the
default embedder; each question is retrieved once (hybrid, ``llm_passages`` chunks) and both
views are built from the same passages. The token budget of the passages is counted with
the shipped Gemma tokenizer, for contexts of 2,048, 4,096 and 8,192 tokens.

    python bench/context_recall.py ../shared/datasets/squad-v2-dev-a.json [--sample 400] [--write]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import cpu_name, write_section  # noqa: E402

CITATION = "SQuAD v2.0 dev, Rajpurkar et al. 2018, CC BY-SA 4.0"
SECTION = "Context recall (issue 16, bench/context_recall.py)"
CONTEXTS = (2048, 4096, 8192)


class GemmaCounter:
    """Counts tokens with the shipped Gemma's tokenizer (vocabulary only, no weights used),
    standing in for a server's; the chat frame is the default system and user templates."""

    def __init__(self, settings):
        from llama_cpp import Llama

        from rag.backends.llama_cpp import model_path

        self.llama = Llama(str(model_path(settings)), vocab_only=True, verbose=False)
        self.free_text, self.chat, self.context = True, True, 2048

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def context_window(self) -> int:
        return self.context


def contains_gold(text: str, answers: list[str]) -> bool:
    from rag.text import normalize_answer

    norm = f" {normalize_answer(text)} "
    return any(f" {normalize_answer(a)} " in norm for a in answers if normalize_answer(a))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--sample", type=int, default=400, help="answerable questions (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        del os.environ[name]

    from ingest import ingest_articles
    from ingest.evaluation.datasets import load_squad
    from rag.free_text import build_prompt
    from rag.pipeline import Assistant
    from rag.settings import Settings

    started = time.perf_counter()
    load = os.getloadavg()[0]
    articles, questions = load_squad(args.dataset)
    answerable = [q for q in questions if q.answerable and q.answers]
    if args.sample and args.sample < len(answerable):
        answerable = random.Random(args.seed).sample(answerable, args.sample)
    home = Path(tempfile.mkdtemp(prefix="rag-context-recall-"))
    settings = Settings(home=home, collection="squad_a")
    ingest_articles(articles, settings=settings)
    assistant = Assistant(settings)
    counter = GemmaCounter(settings)
    ks = (1, 2, 4, 6, 8)
    hits = {"sentence": 0, **{f"top{k}": 0 for k in ks}, **{f"fit{c}": 0 for c in CONTEXTS}}
    n_fit = {c: 0 for c in CONTEXTS}
    for q in answerable:
        passages = assistant.retrieve(q.question, max(ks))
        evidence = assistant.gather(q.question, passages[: settings.top_k]).ranked
        hits["sentence"] += bool(evidence) and contains_gold(evidence[0].text, q.answers)
        for k in ks:
            hits[f"top{k}"] += contains_gold(
                " ".join(p.chunk.text for p in passages[:k]), q.answers
            )
        for c in CONTEXTS:
            counter.context = c
            prompt = build_prompt(
                counter, settings.with_overrides(llm_passages=8), q.question, passages
            )
            n_fit[c] += len(prompt.passages)
            hits[f"fit{c}"] += contains_gold(prompt.text, q.answers)
    n = len(answerable)
    rows = [
        ("before: one evidence sentence (copy path, `RAG_EVIDENCE_SENTENCES=1`)", hits["sentence"]),
        *[(f"top {k} chunks, whole", hits[f"top{k}"]) for k in ks],
        *[
            (
                f"**after: the server path's prompt, up to 8 passages fitted to {c:,} tokens** "
                f"(mean {n_fit[c] / n:.1f} passages; 300 kept for the answer)",
                hits[f"fit{c}"],
            )
            for c in CONTEXTS
        ],
    ]
    lines = [
        f"{n} answerable questions of split A (seed {args.seed}; {CITATION}); hybrid "
        "retrieval, default embedder; tokens counted with the shipped Gemma tokenizer. "
        f"CPU: {cpu_name()}, {os.cpu_count()} cores; load average {load:.1f}; wall "
        f"{time.perf_counter() - started:.0f} s; {datetime.now(UTC):%Y-%m-%d %H:%M UTC}. "
        "Target for the server path: ≥ 0.90.",
        "",
        "| what the generator sees | holds a gold answer |",
        "| --- | --- |",
        *[f"| {label} | {hit / n:.3f} |" for label, hit in rows],
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
