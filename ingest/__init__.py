"""Loading, cleaning, chunking and indexing of articles."""

from ingest.chunking import chunk_spans, split_sentences
from ingest.cleaning import clean_text
from ingest.indexer import IngestReport, ingest_articles, ingest_paths, make_chunks
from ingest.loaders import SUPPORTED, LoadError, load_path

__all__ = [
    "SUPPORTED",
    "IngestReport",
    "LoadError",
    "chunk_spans",
    "clean_text",
    "ingest_articles",
    "ingest_paths",
    "load_path",
    "make_chunks",
    "split_sentences",
]
