"""Indexing with the hash embedder and a real Chroma in tmp_path."""

import json
import shutil

import pytest

from ingest import ingest_articles, ingest_paths
from ingest.indexer import IngestReport, embedding_text, make_chunks
from ingest.loaders import iter_files, load_path
from rag.backends.chroma import ChromaStore
from rag.records import Article, IngestResult
from tests.conftest import SEED
from tests.fakes import HashEmbedder

pytestmark = pytest.mark.unit
BAKERY = "# Elm Street bakery\n\n" + "The bakery on Elm Street sells 300 loaves of rye bread. " * 40


class InterruptingEmbedder(HashEmbedder):
    """Dies like a Ctrl-C once it has embedded ``budget`` texts."""

    def __init__(self, budget: int, error: type[BaseException] = KeyboardInterrupt):
        super().__init__()
        self.budget = budget
        self.error = error

    def embed_documents(self, texts):
        if self.texts_embedded + len(texts) > self.budget:
            raise self.error("embedder died")
        return super().embed_documents(texts)


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "articles"
    d.mkdir()
    shutil.copy(SEED, d / "seed.txt")
    (d / "bakery.md").write_text(BAKERY)
    return d


def stored_state(store: ChromaStore) -> tuple[int, list]:
    """Chunk count and (source, hash, n_chunks) of every article."""
    return store.count_chunks(), [(a.source, a.hash, a.n_chunks) for a in store.list_articles()]


def assert_consistent(store: ChromaStore) -> None:
    """Every chunk belongs to a committed article, counts agree, offsets point into texts."""
    infos = {a.id: a for a in store.list_articles()}
    chunks = store.all_chunks()
    assert len(chunks) == sum(a.n_chunks for a in infos.values())
    for chunk, _ in chunks:
        assert chunk.article_id in infos
        assert store.article_text(chunk.article_id)[chunk.start : chunk.end] == chunk.text


# ----- idempotence and replacement ------------------------------------------------------
def test_ingesting_twice_adds_nothing_and_embeds_nothing(settings, folder):
    embedder = HashEmbedder()
    first = ingest_paths([folder], settings=settings, embedder=embedder)
    assert first.ok and first.counts["added"] == 2 and first.n_chunks_added > 2
    store = ChromaStore(settings)
    before, embedded = stored_state(store), embedder.texts_embedded
    assert first.n_chunks_added == embedded == before[0]
    second = ingest_paths([folder], settings=settings, embedder=embedder)
    assert second.counts["unchanged"] == 2 and second.n_chunks_added == 0
    assert stored_state(store) == before and embedder.texts_embedded == embedded
    assert_consistent(store)


def test_nothing_to_embed_never_loads_the_embedder(settings, folder, monkeypatch):
    ingest_paths([folder], settings=settings, embedder=HashEmbedder())

    def no_model(_settings):
        raise AssertionError("the embedder was loaded")

    monkeypatch.setattr("rag.registry.load_embedder", no_model)
    assert ingest_paths([folder], settings=settings).counts["unchanged"] == 2


def test_the_embedder_comes_from_rag_models(settings, folder, fake_embedder):
    report = ingest_paths([folder], settings=settings)
    assert report.ok and fake_embedder.texts_embedded == report.n_chunks_added > 0


def test_a_modified_article_replaces_its_chunks(settings, folder):
    embedder = HashEmbedder()
    ingest_paths([folder], settings=settings, embedder=embedder)
    store = ChromaStore(settings)
    path = folder / "bakery.md"
    [info] = [a for a in store.list_articles() if a.source == str(path.resolve())]
    old_ids = set(store.chunk_ids_of(info.id))
    path.write_text("# Elm Street bakery\n\nThe bakery closed in 2024 after 26 years.")
    report = ingest_paths([folder], settings=settings, embedder=embedder)
    assert report.counts == {"added": 0, "updated": 1, "unchanged": 1, "removed": 0, "failed": 0}
    new_ids = set(store.chunk_ids_of(info.id))
    assert new_ids and not new_ids & old_ids
    texts = [chunk.text for chunk, _ in store.all_chunks() if chunk.article_id == info.id]
    assert texts == ["# Elm Street bakery\n\nThe bakery closed in 2024 after 26 years."]
    assert store.article_info(info.id).n_chunks == 1
    assert_consistent(store)


def test_changed_metadata_alone_updates_the_article(settings, tmp_path):
    p = tmp_path / "a.md"
    p.write_text("---\ntitle: Old title\n---\nSame body text.")
    ingest_paths([p], settings=settings, embedder=HashEmbedder())
    p.write_text("---\ntitle: New title\n---\nSame body text.")
    report = ingest_paths([p], settings=settings, embedder=HashEmbedder())
    assert report.counts["updated"] == 1
    [(chunk, meta)] = ChromaStore(settings).all_chunks()
    assert meta["title"] == "New title" and chunk.text == "Same body text."


# ----- sync -----------------------------------------------------------------------------
def test_sync_removes_articles_whose_files_are_gone(settings, folder):
    ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    (folder / "bakery.md").unlink()
    report = ingest_paths([folder], settings=settings, embedder=HashEmbedder(), sync=True)
    assert report.ok and report.counts["removed"] == 1 and report.counts["unchanged"] == 1
    [removed] = [r for r in report.results if r.status == "removed"]
    assert removed.source == str((folder / "bakery.md").resolve()) and removed.n_chunks > 0
    store = ChromaStore(settings)
    assert [a.source for a in store.list_articles()] == [str((folder / "seed.txt").resolve())]
    assert_consistent(store)


def test_without_sync_nothing_is_removed(settings, folder):
    ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    (folder / "bakery.md").unlink()
    ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    assert len(ChromaStore(settings).list_articles()) == 2


def test_sync_leaves_articles_outside_the_given_paths_alone(settings, folder, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_text("A note about the harbour.")
    ingest_paths([folder, other], settings=settings, embedder=HashEmbedder())
    (other / "note.txt").unlink()
    report = ingest_paths([folder], settings=settings, embedder=HashEmbedder(), sync=True)
    assert report.counts["removed"] == 0 and len(ChromaStore(settings).list_articles()) == 3


def test_sync_of_a_deleted_file_given_by_name(settings, folder):
    path = folder / "bakery.md"
    ingest_paths([path], settings=settings, embedder=HashEmbedder())
    path.unlink()
    report = ingest_paths([path], settings=settings, embedder=HashEmbedder(), sync=True)
    assert report.counts["removed"] == 1 and report.counts["failed"] == 1  # "no such file"
    assert ChromaStore(settings).list_articles() == []


def test_sync_removes_lines_gone_from_a_jsonl_file(settings, tmp_path):
    p = tmp_path / "news.jsonl"
    rows = [{"text": f"Story number {i} about the harbour."} for i in range(3)]
    p.write_text("\n".join(json.dumps(r) for r in rows))
    ingest_paths([tmp_path], settings=settings, embedder=HashEmbedder())
    p.write_text("\n".join(json.dumps(r) for r in rows[:2]))
    report = ingest_paths([tmp_path], settings=settings, embedder=HashEmbedder(), sync=True)
    assert [r.source for r in report.results if r.status == "removed"] == [f"{p.resolve()}#L3"]
    assert len(ChromaStore(settings).list_articles()) == 2


def test_sync_cleans_up_after_an_interrupted_add_of_a_file_that_is_gone(settings, folder):
    small = settings.with_overrides(embed_batch_size=2, chunk_size=200, chunk_overlap=40)
    with pytest.raises(KeyboardInterrupt):
        ingest_paths([folder / "bakery.md"], settings=small, embedder=InterruptingEmbedder(4))
    store = ChromaStore(settings)
    assert store.count_chunks() == 4 and store.list_articles() == []  # orphans, uncommitted
    (folder / "bakery.md").unlink()
    report = ingest_paths([folder], settings=small, embedder=HashEmbedder(), sync=True)
    assert [(r.status, r.n_chunks) for r in report.results if r.status == "removed"] == [
        ("removed", 4)
    ]
    assert_consistent(store)


# ----- bad input ------------------------------------------------------------------------
def test_broken_files_are_reported_one_line_each_and_good_ones_ingested(settings, folder):
    bad = {
        "empty.txt": (b"", "empty file"),
        "binary.txt": (b"\x00\xff" * 50, "binary file"),
        "broken.pdf": (b"%PDF-1.4 garbage", "broken PDF"),
        "latin1.md": ("caf\xe9".encode("latin-1"), "not valid UTF-8"),
        "blank.html": (b"<html><body></body></html>", "no article text"),
    }
    for name, (content, _) in bad.items():
        (folder / name).write_bytes(content)
    settings = settings.with_overrides(max_file_mb=0.01)
    (folder / "huge.txt").write_text("word " * 3000)
    report = ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    assert not report.ok and report.counts["added"] == 2
    failures = {r.source.rsplit("/", 1)[1]: r.error for r in report.failed}
    assert set(failures) == {*bad, "huge.txt"}
    for name, (_, reason) in bad.items():
        message = failures[name]
        assert message.startswith(f"{folder / name}: ") and reason in message
        assert "\n" not in message
    assert "too large" in failures["huge.txt"]


def test_a_loader_crash_is_one_failure_not_the_end(settings, folder, monkeypatch):
    import ingest.indexer

    real = ingest.indexer.load_path

    def flaky(path, *args):
        if path.name == "seed.txt":
            raise RecursionError("maximum recursion depth exceeded")
        return real(path, *args)

    monkeypatch.setattr(ingest.indexer, "load_path", flaky)
    report = ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    assert report.counts["added"] == 1
    [failure] = report.failed
    assert (
        failure.error
        == f"{folder / 'seed.txt'}: cannot load (RecursionError: maximum recursion depth exceeded)"
    )


def test_an_embedder_error_fails_those_articles_only(settings, folder):
    (folder / "a-tiny.txt").write_text("A tiny article.")  # sorted first: one chunk
    settings = settings.with_overrides(embed_batch_size=1)
    embedder = InterruptingEmbedder(budget=1, error=RuntimeError)  # only the first text
    report = ingest_paths([folder], settings=settings, embedder=embedder)
    assert report.counts["failed"] == 2 and report.counts["added"] == 1
    assert all("RuntimeError: embedder died" in r.error for r in report.failed)
    store = ChromaStore(settings)
    assert len(store.list_articles()) == 1
    again = ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    assert again.ok and (again.counts["added"], again.counts["unchanged"]) == (2, 1)
    assert_consistent(store)


def test_missing_path_is_reported(settings, tmp_path):
    report = ingest_paths([tmp_path / "nope"], settings=settings, embedder=HashEmbedder())
    assert [r.error for r in report.failed] == [f"{tmp_path / 'nope'}: no such file or folder"]


def test_an_unsupported_file_given_explicitly_is_reported(settings, tmp_path):
    p = tmp_path / "notes.docx"
    p.write_bytes(b"PK")
    [result] = ingest_paths(p, settings=settings, embedder=HashEmbedder()).results
    assert result.status == "failed" and "unsupported type '.docx'" in result.error


# ----- interruption ---------------------------------------------------------------------
def expected_chunks(folder, settings) -> int:
    articles = [a for path in iter_files([folder]) for a in load_path(path)]
    return sum(len(make_chunks(a, settings.chunk_size, settings.chunk_overlap)) for a in articles)


@pytest.mark.parametrize("budget", [0, 4, 11])
def test_an_interrupted_ingest_is_completed_by_the_next_run(settings, folder, budget):
    (folder / "news.jsonl").write_text(
        "\n".join(json.dumps({"text": f"Short story {i} about Elm Street."}) for i in range(5))
    )
    settings = settings.with_overrides(embed_batch_size=3, chunk_size=200, chunk_overlap=40)
    expected = expected_chunks(folder, settings)
    dying = InterruptingEmbedder(budget)
    with pytest.raises(KeyboardInterrupt):
        ingest_paths([folder], settings=settings, embedder=dying)
    kept = dying.texts_embedded  # the batches finished before the interruption
    store = ChromaStore(settings)
    assert kept <= budget and store.count_chunks() == kept
    assert store.list_articles() == [] or budget > 3
    embedder = HashEmbedder()
    report = ingest_paths([folder], settings=settings, embedder=embedder)
    assert report.ok and store.count_chunks() == expected
    assert embedder.texts_embedded == expected - kept  # nothing embedded twice
    assert_consistent(store)
    again = ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    assert again.counts["unchanged"] == 7 and store.count_chunks() == expected


def test_an_interrupted_update_is_completed_by_the_next_run(settings, folder):
    settings = settings.with_overrides(embed_batch_size=2, chunk_size=200, chunk_overlap=40)
    ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    (folder / "bakery.md").write_text(BAKERY.replace("300 loaves", "310 loaves"))
    with pytest.raises(KeyboardInterrupt):
        ingest_paths([folder], settings=settings, embedder=InterruptingEmbedder(4))
    store = ChromaStore(settings)
    report = ingest_paths([folder], settings=settings, embedder=HashEmbedder())
    assert report.counts["updated"] == 1
    texts = " ".join(chunk.text for chunk, _ in store.all_chunks())
    assert "310 loaves" in texts and "300 loaves" not in texts
    assert_consistent(store)


# ----- ingest_articles ------------------------------------------------------------------
def test_the_same_text_at_two_sources_is_two_complete_articles(settings):
    """Syndicated stories: one text, two sites; neither takes over the other's chunks."""
    text = "The ferry to Inishmore now leaves at 7:15 every morning from Rossaveal harbour."
    twins = [
        Article(source=f"https://site{i}.example/ferry", title="Ferry", text=text) for i in (1, 2)
    ]
    embedder = HashEmbedder()
    report = ingest_articles(twins, settings=settings, embedder=embedder)
    assert report.counts["added"] == 2 and embedder.texts_embedded == 2
    store = ChromaStore(settings)
    assert store.count_chunks() == 2 and store.health().ok
    assert {c.article_id for c, _ in store.all_chunks()} == {a.id for a in twins}
    again = ingest_articles(twins, settings=settings, embedder=HashEmbedder())
    assert again.counts["unchanged"] == 2


def test_ingest_articles_for_datasets(settings):
    articles = [
        Article(source=f"squad:{i}", title=f"T{i}", text=f"Text number {i}.") for i in range(5)
    ]
    embedder = HashEmbedder()
    report = ingest_articles(articles, settings=settings, embedder=embedder)
    assert report.counts["added"] == 5 and ChromaStore(settings).count_chunks() == 5
    assert embedder.calls == 1  # small articles share an embedding batch
    again = ingest_articles(articles, settings=settings, embedder=embedder)
    assert again.counts["unchanged"] == 5 and embedder.calls == 1


def test_ingest_articles_keeps_the_text_as_given(settings):
    text = "  Spaces  kept.\n\n\n\nRecent Posts\nAll of it."
    ingest_articles([Article("squad:0", "T", text)], settings=settings, embedder=HashEmbedder())
    store = ChromaStore(settings)
    assert store.article_text(Article("squad:0", "T", text).id) == text
    assert_consistent(store)


def test_empty_and_duplicate_articles_fail_alone(settings):
    articles = [
        Article("a", "A", "Text A."),
        Article("b", "B", "   "),
        Article("a", "A again", "Other text."),
        Article("c", "C", "Text C."),
    ]
    report = ingest_articles(articles, settings=settings, embedder=HashEmbedder())
    assert [r.status for r in report.results] == ["added", "failed", "failed", "added"]
    assert report.results[1].error == "b: no text"
    assert "same source" in report.results[2].error


def test_results_arrive_in_order_through_on_result(settings, folder):
    seen: list[IngestResult] = []
    report = ingest_paths(
        [folder], settings=settings, embedder=HashEmbedder(), on_result=seen.append
    )
    assert seen == report.results
    assert [r.source.rsplit("/", 1)[1] for r in seen] == ["bakery.md", "seed.txt"]


def test_progress_bar_goes_to_stderr_one_tick_per_chunk(settings, folder, capsys):
    report = ingest_paths([folder], settings=settings, embedder=HashEmbedder(), progress=True)
    err = capsys.readouterr().err
    assert f"{report.n_chunks_added}/{report.n_chunks_added}" in err and "chunk" in err
    ingest_paths([folder], settings=settings, embedder=HashEmbedder(), progress=True)
    assert capsys.readouterr().err == ""  # nothing to embed, no bar


# ----- pieces ---------------------------------------------------------------------------
def test_chunk_ids_come_from_content_and_place():
    a = Article(source="s", title="T", text="One. Two. Three.")
    first, again = make_chunks(a, 100, 0), make_chunks(a, 100, 0)
    assert [c.id for c in first] == [c.id for c in again]
    b = Article(source="s", title="T", text="One. Two. Four.")
    assert make_chunks(b, 100, 0)[0].id != first[0].id


def test_embedding_text_adds_the_title_once():
    a = Article(source="s", title="Rye", text="Rye\n\nDark bread. It keeps well.")
    chunks = make_chunks(a, 20, 0)
    assert [embedding_text(a, c) for c in chunks] == ["Rye\n\nDark bread.", "Rye\nIt keeps well."]


def test_report_summary_and_counts():
    report = IngestReport(
        results=[IngestResult("a", "added", 3), IngestResult("b", "failed", error="b: bad")],
        n_chunks_added=3,
        seconds=1.5,
        model_seconds=0.5,
    )
    assert not report.ok and report.n_articles == 1 and report.chunks_per_second == 2.0
    assert report.summary() == (
        "1 article (1 added, 0 updated, 0 unchanged), 0 removed, 1 failed; "
        "3 chunks added in 1.5 s (2.0 chunks/s, 0.5 s of it loading the embedder)"
    )
