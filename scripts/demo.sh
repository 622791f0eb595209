#!/usr/bin/env bash
# Set up, ingest the demo corpus and answer the example question. No network needed after install.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "ui,eval"
.venv/bin/rag ingest corpus/
.venv/bin/rag ask "How much does SoftBank pay OpenAI?"
