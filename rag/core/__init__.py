"""The core: records, settings, text utilities, stores, retrieval, generation, pipeline.

It imports nothing from ``rag.ingestion`` or ``rag.apps``.
"""
