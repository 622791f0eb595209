"""The applications on top of the core and ingestion: Python API, CLI, evaluation, UI."""
