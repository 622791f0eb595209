"""An int8 embedder for CPUs with VNNI/AMX: the shipped sentence-transformers model, exported
to ONNX and dynamically quantised to int8 *locally* (nothing is downloaded), run with ONNX
Runtime. Same tokenizer, mean pooling and normalisation as the sentence-transformers model.

The quantised file is made once per model into ``$XDG_CACHE_HOME/rag/onnx/`` (default
``~/.cache``), written atomically, and reused. Chosen with ``RAG_EMBEDDER=onnx-int8``, or
by ``RAG_EMBEDDER=auto`` when the CPU has ``avx512_vnni`` or ``amx_int8``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from functools import cached_property
from pathlib import Path

from rag import logs
from rag.backends import langchain_embeddings
from rag.backends import sentence_transformers as st
from rag.errors import NotFound
from rag.settings import Settings

INT8_FLAGS = ("avx512_vnni", "amx_int8", "avx_vnni")
QUANT_VERSION = "fused-dyn-pc1"  # part of the cache path: a new recipe makes a new file
MAX_LENGTH = 256  # all-MiniLM-L6-v2's max_seq_length


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def has_int8_cpu() -> bool:
    """Whether the CPU runs int8 matrix products fast (VNNI or AMX)."""
    return bool(cpu_flags() & set(INT8_FLAGS))


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "rag" / "onnx"


def _fingerprint(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(model_dir.rglob("*")):
        if path.is_file() and path.suffix in (".safetensors", ".bin", ".json", ".txt"):
            stat = path.stat()
            digest.update(f"{path.relative_to(model_dir)}:{stat.st_size}".encode())
    return digest.hexdigest()[:12]


def quantised_model(model_dir: Path) -> Path:
    """The int8 ONNX file for ``model_dir``: made once, then reused.

    The recipe: export with eager attention, fuse the graph with ONNX Runtime's transformer
    optimiser (attention, GELU and layer-norm kernels), then quantise the weights to int8
    per channel with dynamic activations.
    """
    folder = f"{st._model_name(model_dir)}-{_fingerprint(model_dir)}-{QUANT_VERSION}"
    target = cache_dir() / folder / "model_int8.onnx"
    if target.exists():
        return target
    name = st._model_name(model_dir)
    print(f"preparing the int8 embedder once ({name}, about 10 s)…", file=sys.stderr, flush=True)
    with logs.libraries_to_debug():
        return _export(model_dir, target)


def _export(model_dir: Path, target: Path) -> Path:
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel, AutoTokenizer

    logs.quiet_transformers()
    target.parent.mkdir(parents=True, exist_ok=True)
    model = AutoModel.from_pretrained(
        str(model_dir), local_files_only=True, attn_implementation="eager"
    ).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)

    class Encoder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = tokenizer(["a sample sentence"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    fp32 = target.with_name(f"model.{os.getpid()}.onnx")
    fused = target.with_name(f"model_fused.{os.getpid()}.onnx")
    tmp = target.with_name(f"model_int8.{os.getpid()}.onnx")
    try:
        torch.onnx.export(
            Encoder(model),
            tuple(sample[n] for n in names),
            str(fp32),
            input_names=names,
            output_names=["hidden"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]},
            opset_version=17,
            dynamo=False,
        )
        config = model.config
        optimizer.optimize_model(
            str(fp32),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
        ).save_model_to_file(str(fused))
        # per-channel weights: cosine 0.994 with fp32 on SQuAD paragraphs (per-tensor: 0.94)
        quantize_dynamic(
            str(fused),
            str(tmp),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        os.replace(tmp, target)
    finally:
        for path in (fp32, fused, tmp):
            path.unlink(missing_ok=True)
    return target


def fast_tokenizer(model_dir: Path):
    """The model's own ``tokenizer.json`` in the ``tokenizers`` library: the same ids as
    transformers' tokenizer (padded to the longest text, cut at ``MAX_LENGTH``), without
    importing transformers and torch on the question's path."""
    from tokenizers import Tokenizer

    path = Path(model_dir) / "tokenizer.json"
    if not path.is_file():
        raise NotFound(f"{model_dir}: no tokenizer.json (the int8 embedder needs a fast tokenizer)")
    tokenizer = Tokenizer.from_file(str(path))
    pad = tokenizer.padding or {}  # the file's own pad token; its fixed length is dropped
    tokenizer.enable_truncation(MAX_LENGTH)
    tokenizer.enable_padding(
        pad_id=pad.get("pad_id", 0),
        pad_type_id=pad.get("pad_type_id", 0),
        pad_token=pad.get("pad_token", "[PAD]"),
    )
    return tokenizer


class OnnxInt8Embedder:
    """Normalised int8 embeddings with ONNX Runtime; loads (and quantises once) on first use.
    As a LangChain ``Embeddings``: ``OnnxInt8Embeddings``."""

    def __init__(self, path: Path | None = None, batch_size: int = 32, threads: int | None = None):
        """``path``: a local sentence-transformers model directory (default: the shipped
        all-MiniLM-L6-v2), quantised once into the cache."""
        path = path if path is not None else st.shipped_model()
        self.path = Path(path)
        self.batch_size = batch_size
        self.threads = threads
        self.name = f"sentence-transformers:{st._model_name(self.path)}"  # same vectors' space
        self._lock = threading.Lock()

    @cached_property
    def _session(self):
        import onnxruntime as ort

        with self._lock:
            options = ort.SessionOptions()
            options.log_severity_level = 2 if logs.debug_enabled() else 3  # warnings / errors
            if self.threads:
                options.intra_op_num_threads = self.threads
            return ort.InferenceSession(
                str(quantised_model(self.path)), options, providers=["CPUExecutionProvider"]
            )

    @cached_property
    def _tokenizer(self):
        return fast_tokenizer(self.path)

    @cached_property
    def dimension(self) -> int:
        """Learnt from one embedding, once (the retriever asks on every question)."""
        return len(self.embed_query("dimension"))

    def warm_up(self) -> None:
        self._session  # noqa: B018
        self._tokenizer  # noqa: B018

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        if not texts:
            return []
        out = []
        texts = list(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding
        for i in range(0, len(order), self.batch_size):
            part = [texts[j] for j in order[i : i + self.batch_size]]
            enc = self._tokenizer.encode_batch(part)
            feed = {
                "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
            }
            hidden = self._session.run(None, feed)[0]
            mask = feed["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            out.append(pooled)
        vectors = np.vstack(out)
        result = [None] * len(texts)
        for row, j in enumerate(order):
            result[j] = vectors[row].tolist()
        return result

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


BATCH = 4  # texts per run: small batches pad least and stay in cache (bench/RESULTS.md)


def create(settings: Settings) -> OnnxInt8Embedder:
    return OnnxInt8Embedder(st.model_path(settings), min(settings.embed_batch_size, BATCH))


def create_auto(settings: Settings):
    """int8 ONNX where the CPU has VNNI/AMX and ONNX Runtime is installed, else fp32.

    The int8 file is made here on first use; a model the recipe cannot convert stays fp32."""
    if not has_int8_cpu():
        return st.create(settings)
    try:
        quantised_model(st.model_path(settings))
    except Exception as exc:  # noqa: BLE001 (any failure: the fp32 model still works)
        print(
            f"embedder: int8 conversion failed ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:200]}); using fp32",
            file=sys.stderr,
        )
        return st.create(settings)
    return create(settings)


def describe(settings: Settings) -> str:
    int8 = settings.embedder == "onnx-int8" or has_int8_cpu()
    kind = "int8 ONNX" if int8 else "fp32 sentence-transformers (no VNNI/AMX)"
    return f"{st.model_path(settings)} ({kind})"


def __getattr__(name: str):
    if name == "OnnxInt8Embeddings":
        return langchain_embeddings(OnnxInt8Embedder, __name__, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
