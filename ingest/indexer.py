"""Index articles: chunk, embed only what is new, replace what changed, commit the article last.

Why an interrupted run is safe: chunk ids come from content, chunks are upserted batch by
batch, and an article's record (``store.put_article``) is written only after all its chunks
are stored; the previous version's chunks are deleted after it. A run that dies part-way
leaves an article either absent or at its old hash, with chunks that retrieval ignores
(they match no committed record), so the next run re-plans it, finds the chunks already
stored, and embeds only the rest. Nothing is ever stored twice. An "unchanged" article is
checked to still have all its chunks (a delete may have been killed part-way).

Writers hold the data directory's write lock (``rag.locking``) for the whole run.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass, field
from pathlib import Path

from ingest.chunking import chunk_text
from ingest.extraction import Extractor
from ingest.loaders import LoadError, iter_files, link_problem
from rag import registry
from rag.damage import IndexDamaged
from rag.faults import kill_point
from rag.locking import write_lock
from rag.protocols import Embedder, ServerUnavailable, Store
from rag.records import Article, Chunk, IngestResult, chunk_id_for
from rag.settings import Settings, resolve
from rag.text import plural

OnResult = Callable[[IngestResult], None]
PLAN_BATCH = 256  # articles planned (and committed) together
STATUSES = ("added", "updated", "unchanged", "removed", "failed")
# also "skipped": a file a folder walk left out (unsupported type); counted by the summary


@dataclass
class IngestReport:
    """What an ingest did: one result per article (or bad file/line), and totals."""

    results: list[IngestResult] = field(default_factory=list)
    n_chunks_added: int = 0
    seconds: float = 0.0
    model_seconds: float = 0.0  # part of ``seconds`` spent loading the embedder

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def counts(self) -> dict[str, int]:
        return {status: self.count(status) for status in STATUSES}

    @property
    def failed(self) -> list[IngestResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def n_articles(self) -> int:
        """Articles now in the index from this run (added, updated or unchanged)."""
        return sum(r.status in ("added", "updated", "unchanged") for r in self.results)

    @property
    def chunks_per_second(self) -> float:
        return self.n_chunks_added / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line: ``3 articles (1 added, 0 updated, 2 unchanged), ...`` (``1 article``)."""
        c = self.counts
        n_skipped = self.count("skipped")
        skipped = f", {n_skipped:,} skipped" if n_skipped else ""
        return (
            f"{plural(self.n_articles, 'article')} ({c['added']:,} added, "
            f"{c['updated']:,} updated, {c['unchanged']:,} unchanged), "
            f"{c['removed']:,} removed, {c['failed']:,} failed"
            f"{skipped}; "
            f"{plural(self.n_chunks_added, 'chunk')} added in {self.seconds:.1f} s "
            f"({self.chunks_per_second:.1f} chunks/s"
            + (
                f", {self.model_seconds:.1f} s of it loading the embedder)"
                if self.model_seconds >= 0.05
                else ")"
            )
        )


def make_chunks(article: Article, chunk_size: int, overlap: int) -> list[Chunk]:
    """The article's chunks; ids derived from the article (its id and content) and the
    chunk's place, so the same text at two sources makes two sets of chunks."""
    chunks = []
    key = f"{article.id}:{article.hash}"
    for index, (start, end) in enumerate(chunk_text(article.text, chunk_size, overlap)):
        text = article.text[start:end]
        cid = chunk_id_for(key, start, text)
        chunks.append(Chunk(cid, article.id, text, start, end, index))
    return chunks


def embedding_text(article: Article, chunk: Chunk) -> str:
    """What gets embedded: the chunk prefixed by its article's title (unless it starts with
    it), so a chunk that never names its subject is still found. The stored document stays
    the raw chunk text.

    >>> a = Article(source="s", title="Rye bread", text="Rye bread\\n\\nIt is dark.")
    >>> embedding_text(a, make_chunks(a, 100, 0)[0])
    'Rye bread\\n\\nIt is dark.'
    >>> embedding_text(a, Chunk("id", a.id, "It is dark.", 11, 22, 1))
    'Rye bread\\nIt is dark.'
    """
    if not article.title or chunk.text.startswith(article.title):
        return chunk.text
    return f"{article.title}\n{chunk.text}"


@dataclass
class _Job:
    """An article whose new chunks wait for the next embedding batch."""

    article: Article
    chunks: list[Chunk]
    new: list[Chunk]
    is_new_article: bool
    error: str | None = None


class Indexer:
    """Writes articles into a Store, batching store reads, embeddings and writes across
    articles.

    ``add`` takes an article; articles are planned together (one read of their records,
    one of their stored chunks), their new chunks embedded in batches of
    ``settings.embed_batch_size`` (large batches let the embedder sort by length and pad
    less, and mean fewer store writes), and the articles committed in the order they were
    added. ``flush`` does all of it for what is pending. The embedder is loaded only when
    something needs embedding.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        embedder: Embedder | None = None,
        emit: OnResult | None = None,
        on_embedded: Callable[[int], None] | None = None,
    ):
        self.settings = settings
        self.store = store or registry.open_store(settings)
        self._embedder = embedder
        self._warmed = False
        self.emit = emit or (lambda result: None)
        self.on_embedded = on_embedded or (lambda n: None)  # called with chunks embedded
        self.n_embedded = 0
        self.model_seconds = 0.0
        self._incoming: list[Article] = []  # added, not planned yet
        self._incoming_chars = 0
        self._queue: list[_Job | IngestResult] = []
        self._pending = 0
        self._seen: set[str] = set()

    @property
    def embedder(self) -> Embedder:
        """The embedder, loaded (and its model read) on first use; the time that takes is
        ``model_seconds``, whether this indexer loaded it or was given it unloaded."""
        if not self._warmed:
            started = time.perf_counter()
            if self._embedder is None:
                self._embedder = registry.load_embedder(self.settings)
            self._embedder.warm_up()
            self.model_seconds = time.perf_counter() - started
            self._warmed = True
        return self._embedder

    def add(self, article: Article) -> None:
        self._incoming.append(article)
        self._incoming_chars += len(article.text)
        batch_chars = self.settings.embed_batch_size * self.settings.chunk_size
        if len(self._incoming) >= PLAN_BATCH or self._incoming_chars >= batch_chars:
            self._plan_incoming()

    def _plan_incoming(self, flush_when_full: bool = True) -> None:
        articles, self._incoming, self._incoming_chars = self._incoming, [], 0
        if not articles:
            return
        for item in self._plan_many(articles):
            if isinstance(item, IngestResult) and not self._queue:
                self.emit(item)  # nothing waits for embedding: report at once
                continue
            self._queue.append(item)
            if isinstance(item, _Job):
                self._pending += len(item.new)
        full = self._pending >= self.settings.embed_batch_size or len(self._queue) >= PLAN_BATCH
        if flush_when_full and full:
            self.flush()

    def _plan_many(self, articles: list[Article]) -> list[_Job | IngestResult]:
        """A job (or a result, when there is nothing to embed) per article, in order, with
        one read of the stored records and one of the stored chunks for all of them."""
        planned: dict[int, _Job | IngestResult] = {}
        fresh: list[tuple[int, Article]] = []
        for i, article in enumerate(articles):
            if article.id in self._seen:
                reason = "same source as an earlier article in this run"
                planned[i] = _failed(article.source, reason)
            elif not article.text.strip():
                planned[i] = _failed(article.source, "no text", article.title)
            else:
                self._seen.add(article.id)
                fresh.append((i, article))
        try:
            planned.update(self._plan_fresh(fresh))
        except (ServerUnavailable, IndexDamaged):
            raise  # stops the run: one line naming the server or file, not one per article
        except Exception as exc:  # the store failed on this batch: its articles fail, once
            reason = f"cannot index ({_describe(exc)})"
            planned.update({i: _failed(a.source, reason, a.title) for i, a in fresh})
        return [planned[i] for i in range(len(articles))]

    def _plan_fresh(self, fresh: list[tuple[int, Article]]) -> dict[int, _Job | IngestResult]:
        if not fresh:
            return {}
        stored = self.store.article_infos([a.id for _, a in fresh])
        # unchanged only if all its chunks are there: a killed delete or update may have
        # left some missing or some over; then it is planned again, embedding what is missing
        same = [a.id for _, a in fresh if a.id in stored and stored[a.id].hash == a.hash]
        have = self.store.chunk_ids_by_article(same) if same else {}
        planned: dict[int, _Job | IngestResult] = {}
        chunked: list[tuple[int, Article, list[Chunk]]] = []
        limit = self.settings.max_article_chunks
        for i, article in fresh:
            info = stored.get(article.id)
            complete = info is not None and len(have.get(article.id, ())) == info.n_chunks
            if complete and info.hash == article.hash:
                planned[i] = IngestResult(article.source, "unchanged", info.n_chunks, article.title)
                continue
            try:
                chunks = make_chunks(article, self.settings.chunk_size, self.settings.chunk_overlap)
            except Exception as exc:  # one bad article never stops the others
                planned[i] = _failed(article.source, f"cannot index ({_describe(exc)})")
                continue
            if len(chunks) > limit:
                planned[i] = _failed(
                    article.source,
                    f"too many chunks ({len(chunks):,}; the limit is {limit:,}, "
                    "RAG_MAX_ARTICLE_CHUNKS)",
                    article.title,
                )
                continue
            chunked.append((i, article, chunks))
        ids = [c.id for _, _, chunks in chunked for c in chunks]
        existing = self.store.existing_chunk_ids(ids) if ids else set()
        for i, article, chunks in chunked:
            new = [c for c in chunks if c.id not in existing]
            planned[i] = _Job(article, chunks, new, is_new_article=article.id not in stored)
        return planned

    def flush(self) -> None:
        """Plan, embed and store every pending article, then commit and report in order."""
        self._plan_incoming(flush_when_full=False)
        queue, self._queue, self._pending = self._queue, [], 0
        jobs = [item for item in queue if isinstance(item, _Job)]
        self._embed(jobs)
        results = self._commit(jobs)
        for item in queue:
            self.emit(item if isinstance(item, IngestResult) else results[id(item)])

    def _embed(self, jobs: list[_Job]) -> None:
        work = [(job, chunk) for job in jobs for chunk in job.new]
        if not work:
            return
        # Another model's vectors would be nonsense next to the stored ones: stop the whole
        # run (not each article), before anything is embedded. Records the model on first use.
        self.store.check_embedder(self.embedder, write=True)
        size = self.settings.embed_batch_size
        for i in range(0, len(work), size):
            batch = [(job, chunk) for job, chunk in work[i : i + size] if job.error is None]
            if not batch:
                continue
            try:
                vectors = self.embedder.embed_documents(
                    [embedding_text(job.article, chunk) for job, chunk in batch]
                )
                by_job: dict[int, tuple[Article, list[Chunk], list]] = {}
                for (job, chunk), vector in zip(batch, vectors, strict=True):
                    _, chunks, vecs = by_job.setdefault(id(job), (job.article, [], []))
                    chunks.append(chunk)
                    vecs.append(vector)
                items = list(by_job.values())
                self.store.upsert_many(items)  # one write for the whole batch
                for _ in items:  # (a kill here leaves the batch stored, nothing committed)
                    kill_point("ingest:chunks-stored")
            except (ServerUnavailable, IndexDamaged):
                raise
            except Exception as exc:
                for job, _ in batch:
                    job.error = f"cannot embed or store its chunks ({_describe(exc)})"
                continue
            self.n_embedded += len(batch)
            self.on_embedded(self.n_embedded)

    def _commit(self, jobs: list[_Job]) -> dict[int, IngestResult]:
        """Write the records of the jobs whose chunks are all stored (one write), then delete
        their previous versions' chunks. Results by ``id(job)``."""
        results = {
            id(job): _failed(job.article.source, job.error, job.article.title)
            for job in jobs
            if job.error
        }
        ready = [job for job in jobs if not job.error]
        if not ready:
            return results
        try:
            for _ in ready:
                kill_point("ingest:before-commit")
            self.store.put_articles([(job.article, len(job.chunks)) for job in ready])
            for _ in ready:
                kill_point("ingest:committed")
            stored = self.store.chunk_ids_by_article([job.article.id for job in ready])
            stale = []
            for job in ready:
                keep = {c.id for c in job.chunks}
                stale += [cid for cid in stored.get(job.article.id, []) if cid not in keep]
            self.store.delete_chunks(stale)  # the old versions', no longer retrieved
        except (ServerUnavailable, IndexDamaged):
            raise
        except Exception as exc:
            for job in ready:
                article = job.article
                results[id(job)] = _failed(
                    article.source, f"cannot store ({_describe(exc)})", article.title
                )
            return results
        for job in ready:
            status = "added" if job.is_new_article else "updated"
            results[id(job)] = IngestResult(
                job.article.source, status, len(job.chunks), job.article.title
            )
        return results


def _failed(source: str, reason: str, title: str | None = None) -> IngestResult:
    return IngestResult(source, "failed", 0, title, error=f"{source}: {reason}")


def _describe(exc: BaseException) -> str:
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


# ----- running an ingest -----------------------------------------------------------------
class _Run:
    """Shared plumbing of ingest_paths / ingest_articles: the report, the progress bar (one
    tick per article, or per file until it is loaded) and the callback."""

    def __init__(self, settings, store, embedder, progress, on_result):
        self.report = IngestReport()
        self.on_result = on_result
        self.started = time.perf_counter()
        self.progress = progress
        self.bar = None  # a tqdm bar on stderr, opened by the first ``expect``
        self.indexer = Indexer(settings, store, embedder, self.emit, self._embedded)

    def expect(self, n: int) -> None:
        """``n`` more results to come (a file counts one until it is loaded)."""
        if not self.progress or n == 0:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=n, desc="ingesting", unit="article", file=sys.stderr)
        else:
            self.bar.total += n
            self.bar.refresh()

    def _embedded(self, n_chunks: int) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"{n_chunks:,} chunks embedded")

    def emit(self, result: IngestResult) -> None:
        self.report.results.append(result)
        bar = self.bar
        if bar is not None and result.status not in ("skipped", "removed"):
            bar.update(1)
        if self.on_result is None:
            return
        if bar is None:
            self.on_result(result)
        else:
            with bar.external_write_mode():  # print above the bar, not through it
                self.on_result(result)

    def close(self) -> IngestReport:
        """Stop the clock and the bar. Does not flush: after Ctrl-C nothing more is embedded."""
        if self.bar is not None:
            self.bar.close()
        self.report.n_chunks_added = self.indexer.n_embedded
        self.report.model_seconds = self.indexer.model_seconds
        self.report.seconds = time.perf_counter() - self.started
        return self.report


def ingest_articles(
    articles: Iterable[Article],
    *,
    settings: Settings | None = None,
    store: Store | None = None,
    embedder: Embedder | None = None,
    progress: bool = False,
    on_result: OnResult | None = None,
) -> IngestReport:
    """Index ready-made articles (e.g. a dataset's), taken as they are (no cleaning).

    Unchanged articles (same source and hash) are skipped without embedding.
    """
    settings = resolve(settings)
    with write_lock(settings):
        run = _Run(settings, store, embedder, progress, on_result)
        try:
            if isinstance(articles, Sized):
                run.expect(len(articles))
            for article in articles:
                run.indexer.add(article)
            run.indexer.flush()
        finally:
            report = run.close()
    return report


def ingest_paths(
    paths: str | Path | Iterable[str | Path],
    *,
    settings: Settings | None = None,
    store: Store | None = None,
    embedder: Embedder | None = None,
    sync: bool = False,
    progress: bool = False,
    on_result: OnResult | None = None,
) -> IngestReport:
    """Ingest files and folders (walked recursively). A bad file gets one ``failed`` result
    whose error names it and says why; the other files are still ingested.

    With ``sync``, stored articles whose file was given, or lies under a given folder, and
    no longer exists are removed; so are the articles of a .jsonl file's lines that are gone.
    """
    settings = resolve(settings)
    if isinstance(paths, str | Path):
        paths = [paths]
    roots = [Path(p).expanduser() for p in paths]
    with write_lock(settings):
        run = _Run(settings, store, embedder, progress, on_result)
        try:
            _ingest_roots(run, settings, roots, sync)
        finally:
            report = run.close()
    return report


def _ingest_roots(run: _Run, settings: Settings, roots: list[Path], sync: bool) -> None:
    seen_sources: set[str] = set()
    complete_files: set[Path] = set()  # loaded without a single bad line
    for root in roots:
        if not root.exists():
            run.emit(_failed(str(root), link_problem(root) or "no such file or folder"))
    skipped: list[tuple[Path, str]] = []
    files = list(iter_files((r for r in roots if r.exists()), skipped))
    _emit_skipped(run, skipped)
    run.expect(len(files))
    with extractor_for(settings) as extractor:
        for path in files:
            try:
                resolved = path.resolve(strict=True)
            except (OSError, RuntimeError):  # a dangling link, or one that loops
                reason = f"{path}: {link_problem(path) or 'cannot read (a broken link)'}"
                run.emit(IngestResult(str(path.absolute()), "failed", error=reason))
                continue
            articles, errors = _load(extractor, path)
            run.expect(len(articles) + len(errors) - 1)
            for message in errors:
                run.emit(IngestResult(str(resolved), "failed", error=message))
            if not errors:
                complete_files.add(resolved)
            for article in articles:
                seen_sources.add(article.source)
                run.indexer.add(article)
    run.indexer.flush()
    if sync:
        for result in remove_missing(run.indexer.store, roots, seen_sources, complete_files):
            run.emit(result)


def extractor_for(settings: Settings) -> Extractor:
    """The child process that extracts files' text within the settings' budget."""
    return Extractor(
        max_seconds=settings.max_extract_s,
        max_mb=settings.max_extract_mb,
        max_bytes=int(settings.max_file_mb * 1_000_000),
        max_chars=settings.max_article_chars,
    )


def _emit_skipped(run: _Run, skipped: list[tuple[Path, str]]) -> None:
    """One ``skipped`` result per file a folder walk left out, naming it and why."""
    for path, reason in skipped:
        source = str(path.absolute())
        run.emit(IngestResult(source, "skipped", error=f"{path}: skipped ({reason})"))
    skipped.clear()


def _load(extractor: Extractor, path: Path) -> tuple[list[Article], list[str]]:
    """The file's articles and its problems, one line each (the whole file's, or its bad
    lines'). Extraction runs in the extractor's child process, within its budget."""
    try:
        return extractor.load(path)
    except LoadError as exc:
        return [], [str(exc)]


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def remove_missing(
    store: Store,
    roots: Iterable[Path],
    seen_sources: set[str] = frozenset(),
    complete_files: set[Path] = frozenset(),
) -> list[IngestResult]:
    """Remove what the given files and folders no longer hold: articles whose file is gone,
    articles of .jsonl lines that are gone from a file that loaded cleanly, and chunks left
    behind by an interrupted ingest of a file that is gone (no article record)."""
    roots = [Path(r).expanduser().resolve() for r in roots]
    removed = []
    known = set()
    for info in store.list_articles():
        known.add(info.id)
        file_part, line_sep, _ = info.source.partition("#L")
        path = Path(file_part)
        if not path.is_absolute() or not _under(path, roots):
            continue
        gone = not path.exists()
        line_gone = bool(line_sep) and path in complete_files and info.source not in seen_sources
        if gone or line_gone:
            n = store.delete_article(info.id)
            removed.append(IngestResult(info.source, "removed", n, info.title))
    removed.extend(_remove_orphans(store, roots, known))
    return removed


def _remove_orphans(store: Store, roots: list[Path], known: set[str]) -> list[IngestResult]:
    """Chunks of an interrupted ingest (their article has no record) of a file under
    ``roots`` that is gone."""
    removed = []
    for owner in store.find_uncommitted():
        if owner.id in known:
            continue
        path = Path(owner.source.partition("#L")[0])
        if path.is_absolute() and _under(path, roots):
            ids = store.chunk_ids_of(owner.id)
            store.delete_chunks(ids)
            removed.append(IngestResult(owner.source, "removed", len(ids), owner.title))
    return removed
