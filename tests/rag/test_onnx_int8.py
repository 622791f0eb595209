"""The int8 ONNX embedder: chosen by CPU features, quantised locally, close to fp32."""

from __future__ import annotations

import pytest

from rag import registry
from rag.backends import onnx_int8
from rag.backends.sentence_transformers import SentenceTransformerEmbedder


@pytest.mark.unit
def test_auto_picks_int8_only_on_a_cpu_with_vnni_or_amx(settings, monkeypatch):
    auto = settings.with_overrides(embedder="auto")
    monkeypatch.setattr(onnx_int8, "quantised_model", lambda path: path / "model_int8.onnx")
    monkeypatch.setattr(onnx_int8, "cpu_flags", lambda: {"avx2", "avx512_vnni"})
    assert isinstance(onnx_int8.create_auto(auto), onnx_int8.OnnxInt8Embedder)
    monkeypatch.setattr(onnx_int8, "cpu_flags", lambda: {"avx2"})
    assert isinstance(onnx_int8.create_auto(auto), SentenceTransformerEmbedder)
    assert "auto" in registry.BACKENDS["embedder"] and "onnx-int8" in registry.BACKENDS["embedder"]
    assert settings.model_fields["embedder"].default == "auto"


@pytest.mark.unit
def test_auto_falls_back_to_fp32_with_one_line_when_conversion_fails(settings, monkeypatch, capsys):
    def broken(path):
        raise RuntimeError("unsupported operator\nMegaAttention")

    monkeypatch.setattr(onnx_int8, "cpu_flags", lambda: {"amx_int8"})
    monkeypatch.setattr(onnx_int8, "quantised_model", broken)
    embedder = onnx_int8.create_auto(settings.with_overrides(embedder="auto"))
    assert isinstance(embedder, SentenceTransformerEmbedder)
    [line] = capsys.readouterr().err.splitlines()
    assert "int8 conversion failed (RuntimeError: unsupported operator MegaAttention)" in line


@pytest.mark.unit
def test_in_process_embedders_cap_their_own_batch(settings):
    big = settings.with_overrides(embed_batch_size=64)
    assert onnx_int8.create(big).batch_size == onnx_int8.BATCH
    assert onnx_int8.create(settings.with_overrides(embed_batch_size=2)).batch_size == 2


@pytest.mark.integration
@pytest.mark.slow
def test_int8_vectors_match_fp32_and_come_from_a_local_file(settings, tmp_path, monkeypatch):
    """Export + quantisation of the shipped MiniLM into a fresh cache (about 15-30 s)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    texts = [
        "SoftBank will pay OpenAI $3 billion a year to use its services.",
        "The bakery on Elm Street sells 300 loaves of rye bread every morning.",
        "Glaciers carve fjords over thousands of years.",
    ]
    int8 = onnx_int8.create(settings)
    fp32 = registry.load_embedder(settings.with_overrides(embedder="sentence-transformers"))
    a, b = int8.embed_documents(texts), fp32.embed_documents(texts)
    same = [sum(x * y for x, y in zip(u, v, strict=True)) for u, v in zip(a, b, strict=True)]
    assert min(same) > 0.97, same
    assert int8.name == fp32.name and len(a[0]) == 384
    [made] = list((tmp_path / "cache" / "rag" / "onnx").glob("*/model_int8.onnx"))
    assert made.stat().st_size < 40_000_000  # int8: about a quarter of the fp32 weights
    # a query is closest to its own document
    q = int8.embed_query("How much does SoftBank pay OpenAI?")
    scores = [sum(x * y for x, y in zip(q, v, strict=True)) for v in a]
    assert scores.index(max(scores)) == 0


@pytest.mark.unit
def test_the_fast_tokenizer_gives_transformers_ids(settings):
    """The int8 path tokenises with ``tokenizers`` alone: the same ids, masks and type ids as
    transformers' tokenizer, padded to the longest text and cut at MAX_LENGTH."""
    import numpy as np
    from transformers import AutoTokenizer

    from rag.backends.sentence_transformers import model_path

    path = model_path(settings)
    texts = ["SoftBank pays OpenAI $3 billion (£2.4bn).", "Ünïcödé “quotes” 日本語", "word " * 400]
    fast = onnx_int8.fast_tokenizer(path).encode_batch(texts)
    ref = AutoTokenizer.from_pretrained(str(path), local_files_only=True)(
        texts, padding=True, truncation=True, max_length=onnx_int8.MAX_LENGTH, return_tensors="np"
    )
    assert np.array_equal([e.ids for e in fast], ref["input_ids"])
    assert np.array_equal([e.attention_mask for e in fast], ref["attention_mask"])
    assert np.array_equal([e.type_ids for e in fast], ref["token_type_ids"])
    assert len(fast[2].ids) == onnx_int8.MAX_LENGTH


@pytest.mark.integration
def test_an_int8_question_imports_neither_torch_nor_transformers(settings):
    """In a fresh process, with the int8 file made before (as on every run after the first):
    embedding a question loads ONNX Runtime and tokenizers only."""
    import subprocess
    import sys

    from rag.backends.sentence_transformers import model_path
    from tests.conftest import ROOT

    onnx_int8.quantised_model(model_path(settings))  # made once, as the first run does
    code = (
        "import sys\n"
        "from rag.settings import Settings\n"
        "from rag.backends import onnx_int8\n"
        "assert len(onnx_int8.create(Settings()).embed_query('How much?')) == 384\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
