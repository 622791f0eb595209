#!/usr/bin/env bash
# Install llama-cpp-python into .venv as a portable build, and check the installed library.
#
# pip builds llama.cpp with -march=native. On Intel CPUs with AMX that build crashes on the
# shipped Q4_K_M weights (ggml-org/llama.cpp#20824), and a native build of one CPU may not run
# on another. pip's wheel cache ignores CMAKE_ARGS, so the wheel is built here, without pip's
# cache, into a cache of our own keyed by version, architecture and flags; the install is
# checked afterwards and replaced when it is not that build.
#
# RAG_LLAMA_CMAKE_ARGS overrides the flags (e.g. "-DGGML_NATIVE=ON" on a CPU without AMX).
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.3.36
arch=$(uname -m)
if [ -n "${RAG_LLAMA_CMAKE_ARGS+set}" ]; then
  cmake_args=$RAG_LLAMA_CMAKE_ARGS
elif [ "$arch" = x86_64 ] || [ "$arch" = amd64 ]; then
  # Any x86-64 CPU with AVX2 (AMD and Intel since 2013); no AVX-512, no AMX.
  cmake_args="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON"
  cmake_args+=" -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF"
  cmake_args+=" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
else
  # ARM (aarch64 Linux, Apple Silicon) and others: llama.cpp's own defaults; AMX is x86-only.
  cmake_args=""
fi
key=$(printf '%s|%s|%s' "$version" "$arch" "$cmake_args" | sha256sum | cut -c1-12)
cache_root=${RAG_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rag-articles/wheels}
cache="$cache_root/llama-cpp-python-$version-$key"
stamp=.venv/llama-build
want="llama-cpp-python $version $arch $key"

# Exit 0 when the installed llama.cpp is the wanted version and has no AMX kernels (and, with
# the default x86 flags, no AVX-512); print what it reports either way.
check() {
  .venv/bin/python - "$version" "${RAG_LLAMA_CMAKE_ARGS+custom}" <<'EOF'
import sys
from importlib.metadata import PackageNotFoundError, version

want, custom = sys.argv[1], sys.argv[2]
try:
    have = version("llama-cpp-python")
except PackageNotFoundError:
    sys.exit("llama-cpp-python: not installed")
if have != want:
    sys.exit(f"llama-cpp-python: {have} installed, {want} wanted")
import llama_cpp

info = llama_cpp.llama_print_system_info().decode()
bad = [f for f in info.replace("|", " ").split() if f.startswith("AMX")]
if not custom:
    bad += [f for f in info.replace("|", " ").split() if f.startswith("AVX512")]
print("llama.cpp:", " ".join(info.split()))
if bad:
    sys.exit(f"llama.cpp: not the portable build (has {', '.join(sorted(set(bad)))})")
EOF
}

if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && check; then
  exit 0
fi
wheel=$(ls "$cache"/llama_cpp_python-"$version"-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  echo "building llama-cpp-python $version (${cmake_args:-default flags}); about 6 minutes on 2 cores"
  tmp=$(mktemp -d)
  CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    .venv/bin/python -m pip wheel --quiet --no-cache-dir --no-deps \
    --no-binary llama-cpp-python "llama-cpp-python==$version" -w "$tmp"
  mkdir -p "$cache"
  mv "$tmp"/llama_cpp_python-*.whl "$cache"/
  rm -rf "$tmp"
  wheel=$(ls "$cache"/llama_cpp_python-"$version"-*.whl | head -n 1)
fi
echo "installing the portable llama.cpp build: $wheel"
.venv/bin/python -m pip install --quiet --force-reinstall --no-deps "$wheel"
.venv/bin/python -m pip install --quiet "$wheel"
if ! check; then
  echo "scripts/llama_build.sh: the installed llama.cpp is still not portable; remove $cache and rerun" >&2
  exit 1
fi
echo "$want" >"$stamp"
