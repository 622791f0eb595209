"""The backends by kind and name: what ``Settings`` may name and how each is built.

``rag.settings`` checks names against this table; ``rag.registry`` builds from it. Another
package adds its own with ``rag.registry.register("generator", "name", factory)``.

>>> sorted(BACKENDS["store"])
['chroma', 'memory']
"""

from __future__ import annotations

from collections.abc import Callable

# kind -> name -> "module:function" (imported on first use) or a factory(settings)
BACKENDS: dict[str, dict[str, str | Callable[..., object]]] = {
    "embedder": {
        "sentence-transformers": "rag.backends.sentence_transformers:create",
        "openai": "rag.backends.openai_embedder:create",
        "onnx-int8": "rag.backends.onnx_int8:create",
        "auto": "rag.backends.onnx_int8:create_auto",
    },
    "generator": {
        "llama-cpp": "rag.backends.llama_cpp:create",
        "openai": "rag.backends.openai_generator:create",
    },
    "store": {
        "chroma": "rag.backends.chroma:create",
        "memory": "rag.backends.memory:create",
    },
}
