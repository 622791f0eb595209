"""report.html: the summary table, three plots (embedded PNGs) and every question's result."""

from __future__ import annotations

import base64
import html
import io
import sys
from collections.abc import Sequence
from pathlib import Path

# Summary keys shown in the table, with how to read them.
SUMMARY_ROWS = (
    ("n", "questions"),
    ("n_answerable", "answerable"),
    ("n_unanswerable", "unanswerable"),
    ("n_errors", "rejected by the assistant"),
    ("em", "exact match (answerable)"),
    ("f1", "token F1 (answerable)"),
    ("f1_all", "SQuAD v2 F1 over all (abstaining on unanswerable = 1)"),
    ("hit_at_1", "expected source ranked first"),
    ("hit_at_5", "expected source in the first 5"),
    ("mrr", "mean reciprocal rank of the expected source"),
    ("answer_hit_at_5", "a gold answer in the first 5 passages"),
    ("abstain_precision", "abstentions that were on unanswerable questions"),
    ("abstain_recall", "unanswerable questions abstained on"),
    ("false_abstain_rate", "answerable questions abstained on"),
    ("citation_support", "answers whose cited sentence contains a gold answer"),
    ("latency_p50_s", "latency p50 (s)"),
    ("latency_p95_s", "latency p95 (s)"),
)


def fmt(value) -> str:
    """A summary value for a table cell.

    >>> fmt(0.83333), fmt(None), fmt(12)
    ('0.833', '–', '12')
    """
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def plots(rows: Sequence[dict], depth: int = 10) -> dict[str, str]:
    """Base64 PNGs: latency histogram, F1 distribution, retrieval rank distribution."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    ok = [r for r in rows if not r.get("error")]
    images = {}

    fig = Figure(figsize=(5, 3))
    ax = fig.subplots()
    ax.hist([r["latency_s"] for r in ok], bins=20, color="#4477aa", edgecolor="white")
    ax.set(title="Latency per question", xlabel="seconds", ylabel="questions")
    images["Latency"] = _png(fig)

    fig = Figure(figsize=(5, 3))
    ax = fig.subplots()
    scores = [r["f1"] for r in ok if r.get("answerable") and r.get("f1") is not None]
    ax.hist(scores, bins=[i / 10 for i in range(11)], color="#228833", edgecolor="white")
    ax.set(title="F1 of answerable questions", xlabel="F1", ylabel="questions", xlim=(0, 1))
    images["F1"] = _png(fig)

    fig = Figure(figsize=(5, 3))
    ax = fig.subplots()
    ranks = [r.get("retrieved_rank") for r in ok if r.get("expected_source")]
    labels = [str(k) for k in range(1, depth + 1)] + ["none"]
    counts = [sum(1 for x in ranks if x == k) for k in range(1, depth + 1)]
    counts.append(sum(1 for x in ranks if x is None))
    ax.bar(labels, counts, color="#ccbb44")
    ax.set(title="Rank of the expected source", xlabel="rank", ylabel="questions")
    images["Retrieval rank"] = _png(fig)
    return images


def render(summary: dict, rows: Sequence[dict], images: dict[str, str]) -> str:
    """The whole HTML page."""
    e = html.escape
    table = "".join(
        f"<tr><th>{e(label)}</th><td><code>{e(key)}</code></td><td>{e(fmt(summary.get(key)))}</td></tr>"
        for key, label in SUMMARY_ROWS
        if key in summary
    )
    run, config = summary.get("run", {}), summary.get("config", {})
    facts = ", ".join(f"{k}={v}" for k, v in {**config, **run}.items() if v is not None)
    figures = "".join(
        f'<figure><img alt="{e(name)}" src="data:image/png;base64,{data}"></figure>'
        for name, data in images.items()
    )
    body = []
    for r in rows:
        gold = " | ".join(r.get("gold_answers") or []) or (
            "(unanswerable)" if r.get("answerable") is False else ""
        )
        answer = f"error: {r['error']}" if r.get("error") else r.get("text", r.get("answer", ""))
        body.append(
            "<tr>"
            f"<td>{e(str(r['id']))}</td><td>{e(r['question'])}</td><td>{e(answer)}</td>"
            f"<td>{e(gold)}</td><td>{fmt(r.get('f1'))}</td><td>{fmt(r.get('retrieved_rank'))}</td>"
            f"<td>{fmt(r.get('latency_s'))}</td></tr>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rag eval report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }}
figure {{ display: inline-block; margin: 0 1em 1em 0; }}
.facts {{ color: #555; font-size: 90%; }}
</style></head><body>
<h1>Evaluation report</h1>
<p class="facts">{e(facts)}</p>
<h2>Summary</h2><table>{table}</table>
<h2>Plots</h2>{figures or "<p>(matplotlib is not installed: pip install '.[eval]')</p>"}
<h2>Questions</h2>
<table><tr><th>id</th><th>question</th><th>answer</th><th>gold</th><th>F1</th>
<th>source rank</th><th>latency s</th></tr>{"".join(body)}</table>
</body></html>
"""


def write_report(summary: dict, rows: Sequence[dict], path: str | Path) -> Path:
    """Write report.html; without matplotlib the page has the tables but no plots."""
    try:
        images = plots(rows, summary.get("run", {}).get("retrieval_depth", 10))
    except ImportError:
        print(
            "report: no plots, matplotlib is not installed (pip install '.[eval]')", file=sys.stderr
        )
        images = {}
    path = Path(path)
    path.write_text(render(summary, rows, images), encoding="utf-8")
    return path
