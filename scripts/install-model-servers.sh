#!/usr/bin/env bash
# Third-party model servers that tests drive Ferry's load generator against: MLServer (an Open
# Inference Protocol v2 server) and llama-cpp-python's OpenAI-compatible server (llama.cpp built
# from source, CPU only). Each gets its own venv, cached outside the clone, so their pins never
# fight the tritonclient venv of install-python-deps.sh; a stamp keyed by the pins makes a second
# run a no-op. Prints nothing but progress; the venvs' pythons are what
# test/support/components/{mlserver,llama-server}.ts start.
set -euo pipefail
# shellcheck source=lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

CACHE="${FERRY_MODEL_SERVERS_CACHE:-/var/cache/ferry}"
MLSERVER_VENV="$CACHE/mlserver-venv"
LLAMA_VENV="$CACHE/llama-cpp-venv"
# The web stack is pinned too: both servers import fastapi/starlette/pydantic, and a new release
# of one of them is the usual way such a server stops starting.
MLSERVER_PACKAGES=(mlserver==1.7.1)
LLAMA_PACKAGES=("llama-cpp-python[server]==0.3.36" fastapi==0.115.12 starlette==0.46.2 uvicorn==0.34.2 pydantic==2.11.4 pydantic-settings==2.9.1 sse-starlette==2.3.3 numpy==2.2.5)
APT_PACKAGES=(cmake build-essential python3-venv)
# CPU only and as little as the Python bindings load: no OpenMP (its spinning threads would take
# the cores from the load generator), no llamafile sgemm, no multimodal library, no tools/tests,
# and not llama.cpp's `common` library either, which llama-cpp-python forces on but never loads
# (a CMake file included at the start of the llama.cpp project turns it back off). -O1 instead of
# -O3: the tiny test model is as fast either way, and the build takes half the time. Portable
# instructions (no -march=native), so a cached build never meets a CPU it cannot run on.
LLAMA_OPTIONS_CMAKE="$CACHE/llama-cpp-options.cmake"
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_OPENMP=OFF -DGGML_LLAMAFILE=OFF -DGGML_BLAS=OFF -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_RPC=OFF -DGGML_CCACHE=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_OPENSSL=OFF -DCMAKE_PROJECT_llama.cpp_INCLUDE=$LLAMA_OPTIONS_CMAKE '-DCMAKE_C_FLAGS_RELEASE=-O1 -DNDEBUG' '-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG'"

ensure_apt_packages model-servers "${APT_PACKAGES[@]}"

# install_venv NAME VENV IMPORT_CHECK BUILD_KEY PACKAGES...: (re)creates VENV unless its stamp says it
# holds exactly PACKAGES built with BUILD_KEY (the build options, for what compiles from source).
install_venv() {
  local name="$1" venv="$2" check="$3" key="$4"
  shift 4
  local stamp
  stamp="$venv/.ferry-$(printf '%s_' "$@" "$key" | md5sum | cut -c1-16)"
  if [ -f "$stamp" ]; then return 0; fi
  local started=$SECONDS log="/tmp/ferry-pip-$name.log"
  echo "installing $name into $venv (first run only)"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  /usr/bin/python3 -m venv "$venv"
  for attempt in 1 2 3; do
    if "$venv/bin/pip" install -q --disable-pip-version-check "$@" >"$log" 2>&1; then break; fi
    [ "$attempt" = 3 ] && { tail -40 "$log" >&2; echo "pip install $* failed (log: $log)" >&2; exit 3; }
    echo "pip install for $name failed (attempt $attempt), retrying"
    sleep $((attempt * 5))
  done
  "$venv/bin/python" -c "$check" >>"$log" 2>&1 || { tail -20 "$log" >&2; echo "$name venv $venv does not import: delete it and re-run" >&2; exit 3; }
  touch "$stamp"
  echo "$name ready in $((SECONDS - started)) s"
}

install_venv mlserver "$MLSERVER_VENV" 'import mlserver, numpy' "" "${MLSERVER_PACKAGES[@]}"

LLAMA_OPTIONS='set(LLAMA_BUILD_COMMON OFF CACHE BOOL "llama-cpp-python never loads libllama-common" FORCE)'
if [ "$(cat "$LLAMA_OPTIONS_CMAKE" 2>/dev/null)" != "$LLAMA_OPTIONS" ]; then
  mkdir -p "$CACHE"
  echo "$LLAMA_OPTIONS" >"$LLAMA_OPTIONS_CMAKE"
fi
# Always from the source distribution (never a prebuilt wheel that ignores these options), with two
# compile jobs on these two-core machines.
CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL=2 PIP_NO_BINARY=llama-cpp-python \
  install_venv llama-cpp "$LLAMA_VENV" 'import llama_cpp, llama_cpp.server.app' "$LLAMA_CMAKE_ARGS $LLAMA_OPTIONS" "${LLAMA_PACKAGES[@]}"
echo "model servers ready ($MLSERVER_VENV/bin/mlserver, $LLAMA_VENV/bin/python -m llama_cpp.server)"
