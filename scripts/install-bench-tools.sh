#!/usr/bin/env bash
# The anchor tools `npm run bench` measures the load generator against that are not test
# dependencies, in one venv cached outside the clone (a stamp keyed by the pins makes a second run a
# no-op):
#
#   perf_analyzer  Triton's load generator. PyPI has no package of its own for it (`perf-analyzer`
#                  0.1.0 is an empty placeholder); tritonclient's manylinux wheel bundled the binary
#                  up to 2.60.0, and 2.51.0 is the last of those built against glibc <= 2.36 (2.52.0 on
#                  need GLIBC_2.38), so the newest that runs on Debian 12. The binary links libb64
#                  (Debian libb64-0d) and libcudart.so.12 (the 0.9 MB nvidia-cuda-runtime-cu12 wheel; it
#                  is only called for --shared-memory cuda, so no GPU or driver is needed). The wrapper
#                  $VENV/bin/ferry-perf-analyzer sets the library path; bench/suites/perf-analyzer.ts
#                  runs that.
#   aiperf         NVIDIA's successor to GenAI-Perf, for OpenAI streaming endpoints. Pure Python (no
#                  CUDA wheels); about 1.2 GB of dependencies, 2 minutes to install.
#   ferry-tokenizer  AIPerf always loads a tokenizer and nothing can be downloaded here (its `builtin`
#                  one fetches a tiktoken file), so a local byte-level one is written into the venv.
#
# Exit 0 ready, 2 Debian packages missing and not root, 3 an install failed (the message says which).
set -euo pipefail
# shellcheck source=lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

VENV="${FERRY_BENCH_VENV:-/var/cache/ferry/bench-venv}"
PERF_ANALYZER_PACKAGES=(tritonclient==2.51.0 nvidia-cuda-runtime-cu12==12.6.77)
AIPERF_PACKAGES=(aiperf==0.13.0)
APT_PACKAGES=(libb64-0d python3-venv)
PYTHON=/usr/bin/python3

fail() {
  echo "install-bench-tools: $*" >&2
  exit 3
}

ensure_apt_packages bench-tools "${APT_PACKAGES[@]}"

# pip_install WHAT PACKAGES...: three tries, then exit 3 naming WHAT.
pip_install() {
  local what="$1"
  shift
  local log="/tmp/ferry-pip-bench-tools.log"
  for attempt in 1 2 3; do
    if "$VENV/bin/pip" install -q --disable-pip-version-check "$@" >"$log" 2>&1; then return 0; fi
    if [ "$attempt" = 3 ]; then
      tail -30 "$log" >&2
      fail "pip install $* ($what) failed 3 times (log above); the bench reports its rows as ERROR until this script succeeds"
    fi
    sleep $((attempt * 5))
  done
}

PINS="${PERF_ANALYZER_PACKAGES[*]} ${AIPERF_PACKAGES[*]}"
stamp="$VENV/.ferry-${PINS// /_}"
if [ ! -f "$stamp" ]; then
  echo "creating bench tools venv $VENV ($PINS)"
  started=$(date +%s)
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV" || fail "$PYTHON -m venv $VENV failed (Debian package python3-venv)"
  pip_install perf_analyzer "${PERF_ANALYZER_PACKAGES[@]}"
  cudart=$(ls -d "$VENV"/lib/python3*/site-packages/nvidia/cuda_runtime/lib 2>/dev/null | head -1)
  [ -n "$cudart" ] && [ -f "$cudart/libcudart.so.12" ] || fail "libcudart.so.12 not found under $VENV after installing ${PERF_ANALYZER_PACKAGES[*]}"
  [ -x "$VENV/bin/perf_analyzer" ] || fail "$VENV/bin/perf_analyzer is missing: the ${PERF_ANALYZER_PACKAGES[0]} wheel for this platform has no bundled binary"
  cat >"$VENV/bin/ferry-perf-analyzer" <<EOF
#!/bin/sh
# perf_analyzer from ${PERF_ANALYZER_PACKAGES[0]}, with the libcudart.so.12 it links (written by scripts/install-bench-tools.sh).
LD_LIBRARY_PATH="$cudart\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$VENV/bin/perf_analyzer" "\$@"
EOF
  chmod +x "$VENV/bin/ferry-perf-analyzer"
  pip_install aiperf "${AIPERF_PACKAGES[@]}"
  TRANSFORMERS_VERBOSITY=error "$VENV/bin/python" - "$VENV/ferry-tokenizer" <<'EOF' || fail "writing the local tokenizer for AIPerf failed"
# A byte-level BPE tokenizer with only the 256-byte alphabet and no merges: every text encodes, one
# token per byte, with no download. The bench reads output token counts from the server's usage.
import sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
tokenizer = Tokenizer(models.BPE(vocab={ch: i for i, ch in enumerate(alphabet)}, merges=[]))
tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tokenizer.decoder = decoders.ByteLevel()
PreTrainedTokenizerFast(tokenizer_object=tokenizer).save_pretrained(sys.argv[1])
EOF
  touch "$stamp"
  echo "bench tools installed in $(($(date +%s) - started)) s"
fi

pa_version=$("$VENV/bin/ferry-perf-analyzer" --version 2>&1) || fail "perf_analyzer does not start: $pa_version; delete $VENV and re-run"
ai_version=$("$VENV/bin/aiperf" --version 2>&1 | tail -1) || fail "aiperf does not start: $ai_version; delete $VENV and re-run"
[ -f "$VENV/ferry-tokenizer/tokenizer.json" ] || fail "$VENV/ferry-tokenizer is missing; delete $VENV and re-run"
echo "bench tools ready: $pa_version ($VENV/bin/ferry-perf-analyzer), aiperf $ai_version ($VENV/bin/aiperf)"
