#!/usr/bin/env bash
# Runs the benchmark-on-gpu-runner action bundle for real on a GPU machine: the committed
# actions/benchmark-on-gpu-runner/dist on Node 24, as GitHub's node24 runtime would, against
# bench/gpu/torch_server.py (a CUDA MLP over OIP v2, and a GPT-2-shaped decoder over streaming
# OpenAI chat), with nvidia-smi telemetry and a second run compared against the first as baseline.
#
# Usage: bash bench/gpu/run-on-gpu.sh OUT_DIR
# Needs: nvidia-smi, python3 with torch (CUDA) and transformers, and node 24 on PATH (or NODE_XZ=
# path of an xz-compressed node binary to unpack).
set -euo pipefail
out=${1:?usage: run-on-gpu.sh OUT_DIR}
mkdir -p "$out"
cd "$(dirname "$0")/../.."

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 24 ]; then
  : "${NODE_XZ:?no node 24 on PATH: set NODE_XZ to an xz-compressed node binary}"
  mkdir -p /tmp/node24/bin
  xz -dc "$NODE_XZ" >/tmp/node24/bin/node
  chmod +x /tmp/node24/bin/node
  export PATH=/tmp/node24/bin:$PATH
fi
echo "node $(node --version); $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)"

bundle=actions/benchmark-on-gpu-runner/dist/index.js
work=$(mktemp -d)
run() { # name, then NAME=VALUE action inputs
  local name=$1; shift
  : >"$work/$name.output"; : >"$work/$name.summary.md"
  set +e
  env GITHUB_ACTIONS=true GITHUB_WORKSPACE="$PWD" RUNNER_TEMP="$work" \
    GITHUB_OUTPUT="$work/$name.output" GITHUB_STEP_SUMMARY="$work/$name.summary.md" \
    'INPUT_REQUIRE-GPU=true' 'INPUT_GPU-HOURLY-PRICE=2.5' "INPUT_RESULTS=$work/$name.results.json" \
    "$@" node "$bundle" 2>&1 | tee "$work/$name.log"
  local rc=${PIPESTATUS[0]}
  set -e
  echo "== $name: exit $rc"
  echo "$rc" >"$work/$name.rc"
}

oip=(INPUT_COMMAND='python3 bench/gpu/torch_server.py --mode oip --port $PORT' INPUT_PROTOCOL=oip-v2 'INPUT_MODEL-NAME=mlp'
  INPUT_CONCURRENCIES=1,4,16 INPUT_WARMUP=5s INPUT_WINDOW=5s INPUT_DURATION=15s)
if [ "${ONLY:-}" != chat ]; then
  run oip "${oip[@]}"
  # The same server again, judged against the first run: a rerun on an unchanged model must not read as a regression.
  run oip-rerun "${oip[@]}" "INPUT_BASELINE=$work/oip.results.json"
fi
run chat INPUT_COMMAND='python3 bench/gpu/torch_server.py --mode openai --model-name gpt2-random --port $PORT' \
  INPUT_PROTOCOL=openai-chat 'INPUT_MODEL-NAME=gpt2-random' 'INPUT_MAX-TOKENS=64' \
  INPUT_CONCURRENCIES=1,4,8 INPUT_WARMUP=5s INPUT_WINDOW=5s INPUT_DURATION=15s INPUT_TIMEOUT=20s
# No GPU asked of a machine without one is checked by the test suite; here, the CPU-only fallback is the
# same bundle with require-gpu false and CUDA hidden.

cat "$work"/*.summary.md >"$out/summaries.md"
cat "$work"/*.output >"$out/outputs.txt"
[ -f "$work/oip.results.json" ] && cp "$work/oip.results.json" "$out/oip.results.json"
cp "$work/chat.results.json" "$out/chat.results.json"
cat "$work"/*.log >"$out/logs.txt"
grep -h . "$work"/*.rc | paste -sd' ' >"$out/exit-codes.txt"
