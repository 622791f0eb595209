"""Index articles: chunk, embed what is new, replace what changed, commit the article last."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.chunking import chunk_spans
from ingest.loaders import LoadError, iter_files, load_path
from rag import models
from rag.records import Article, Chunk, IngestResult, chunk_id_for
from rag.settings import Settings
from rag.store import ChromaStore

OnResult = Callable[[IngestResult], None]


@dataclass
class IngestReport:
    results: list[IngestResult] = field(default_factory=list)
    n_chunks_added: int = 0
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0

    @property
    def chunks_per_second(self) -> float:
        return self.n_chunks_added / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        parts = [
            f"{self.count(s)} {s}" for s in ("added", "updated", "unchanged", "removed", "failed")
        ]
        return (
            f"{', '.join(parts)}; {self.n_chunks_added} chunks embedded in {self.seconds:.1f}s "
            f"({self.chunks_per_second:.0f} chunks/s)"
        )


def make_chunks(article: Article, chunk_size: int, overlap: int) -> list[Chunk]:
    """The article's chunks, ids derived from content and position."""
    return [
        Chunk(
            chunk_id_for(article.hash, s, article.text[s:e]), article.id, article.text[s:e], s, e, i
        )
        for i, (s, e) in enumerate(chunk_spans(article.text, chunk_size, overlap))
    ]


class Indexer:
    """Writes articles into a ChromaStore; the embedder loads only when something is new."""

    def __init__(
        self, settings: Settings, store: ChromaStore | None = None, embedder=None, progress=False
    ):
        self.settings = settings
        self.store = store or ChromaStore(settings)
        self._embedder = embedder
        self.progress = progress
        self.n_embedded = 0

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = models.load_embedder(self.settings)
        return self._embedder

    def _embed_and_store(self, article: Article, chunks: list[Chunk]) -> None:
        """Embed and upsert batch by batch, so an interrupted run keeps what it finished."""
        batch = self.settings.embed_batch_size
        bar = None
        if self.progress and len(chunks) > batch:
            from tqdm import tqdm

            bar = tqdm(total=len(chunks), desc=article.title[:40], unit="chunk", file=sys.stderr)
        try:
            for i in range(0, len(chunks), batch):
                part = chunks[i : i + batch]
                texts = [f"{article.title}\n{c.text}" for c in part]
                self.store.upsert_chunks(article, part, self.embedder.embed_documents(texts))
                self.n_embedded += len(part)
                if bar:
                    bar.update(len(part))
        finally:
            if bar:
                bar.close()

    def index(self, article: Article) -> IngestResult:
        stored = self.store.article_info(article.id)
        if stored is not None and stored.hash == article.hash:
            return IngestResult(article.source, "unchanged", stored.n_chunks, article.title)
        chunks = make_chunks(article, self.settings.chunk_size, self.settings.chunk_overlap)
        existing = self.store.existing_chunk_ids([c.id for c in chunks])
        new = [c for c in chunks if c.id not in existing]
        self._embed_and_store(article, new)
        keep = {c.id for c in chunks}
        self.store.delete_chunks(
            [cid for cid in self.store.chunk_ids_of(article.id) if cid not in keep]
        )
        self.store.put_article(article, len(chunks))  # the commit marker, written last
        status = "added" if stored is None else "updated"
        return IngestResult(article.source, status, len(chunks), article.title)


def _emit(report: IngestReport, result: IngestResult, on_result: OnResult | None) -> None:
    report.results.append(result)
    if on_result:
        on_result(result)


def ingest_articles(
    articles: Iterable[Article],
    *,
    settings: Settings | None = None,
    store: ChromaStore | None = None,
    embedder=None,
    progress: bool = False,
    on_result: OnResult | None = None,
) -> IngestReport:
    """Index ready-made articles (e.g. a dataset's)."""
    settings = settings or Settings()
    indexer = Indexer(settings, store, embedder, progress)
    report = IngestReport()
    started = time.perf_counter()
    for article in articles:
        _emit(report, indexer.index(article), on_result)
    report.n_chunks_added = indexer.n_embedded
    report.seconds = time.perf_counter() - started
    return report


def ingest_paths(
    paths: Iterable[str | Path],
    *,
    settings: Settings | None = None,
    store: ChromaStore | None = None,
    embedder=None,
    sync: bool = False,
    progress: bool = False,
    on_result: OnResult | None = None,
) -> IngestReport:
    """Ingest files and folders. A bad file gets a failed result; the others go on.

    With ``sync``, stored articles whose file lies under a given folder (or is a given
    file) and no longer exists are removed.
    """
    settings = settings or Settings()
    indexer = Indexer(settings, store, embedder, progress)
    report = IngestReport()
    started = time.perf_counter()
    roots = [Path(p).expanduser() for p in paths]
    max_bytes = int(settings.max_file_mb * 1_000_000)
    files = []
    for root in roots:
        if not root.exists():
            _emit(
                report,
                IngestResult(str(root), "failed", error=f"{root}: no such file or folder"),
                on_result,
            )
    files = list(iter_files([r for r in roots if r.exists()]))
    bar = None
    if progress and len(files) > 1:
        from tqdm import tqdm

        bar = tqdm(total=len(files), desc="ingest", unit="file", file=sys.stderr)
    for path in files:
        errors: list[str] = []
        try:
            articles = load_path(path, max_bytes, errors)
        except LoadError as exc:
            _emit(report, IngestResult(str(path.resolve()), "failed", error=str(exc)), on_result)
            articles = []
        except OSError as exc:
            _emit(
                report,
                IngestResult(str(path), "failed", error=f"{path}: {exc.strerror or exc}"),
                on_result,
            )
            articles = []
        for message in errors:
            _emit(report, IngestResult(str(path.resolve()), "failed", error=message), on_result)
        for article in articles:
            _emit(report, indexer.index(article), on_result)
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    if sync:
        for result in _remove_missing(indexer.store, roots):
            _emit(report, result, on_result)
    report.n_chunks_added = indexer.n_embedded
    report.seconds = time.perf_counter() - started
    return report


def _remove_missing(store: ChromaStore, roots: list[Path]) -> list[IngestResult]:
    resolved = [r.resolve() for r in roots]
    removed = []
    for info in store.list_articles():
        file = Path(info.source.split("#L")[0])
        if not file.is_absolute() or file.exists():
            continue
        if any(file == r or r in file.parents for r in resolved):
            n = store.delete_article(info.id)
            removed.append(IngestResult(info.source, "removed", n, info.title))
    return removed
