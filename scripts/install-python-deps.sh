#!/usr/bin/env bash
# Python used only by tests, to write real model files with the real libraries (torch, onnx, gguf,
# safetensors, numpy, h5py), reference statistics (scipy) and a third-party Open Inference Protocol
# client (tritonclient) to check `ferry serve` against. Heavy libraries come from Debian's
# packages (python3-torch installs in about a minute; the PyPI wheel pulls gigabytes of CUDA);
# the few PyPI-only ones go into a venv that sees them, cached outside the clone so CI on the same
# machine reuses it. Prints nothing but progress; the venv's python is $FERRY_PYTHON.
set -euo pipefail
# shellcheck source=lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

VENV="${FERRY_PYTHON_VENV:-/var/cache/ferry/python-venv}"
APT_PACKAGES=(python3-torch python3-onnx python3-numpy python3-scipy python3-h5py python3-venv python3-pip)
PIP_PACKAGES=(safetensors==0.4.5 gguf==0.19.0 "tritonclient[http]==2.73.0")

ensure_apt_packages python "${APT_PACKAGES[@]}"

stamp="$VENV/.ferry-${PIP_PACKAGES[*]// /_}"
if [ ! -f "$stamp" ]; then
  echo "creating test venv $VENV"
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
  for attempt in 1 2 3; do
    if "$VENV/bin/pip" install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"; then break; fi
    [ "$attempt" = 3 ] && { echo "pip install ${PIP_PACKAGES[*]} failed" >&2; exit 3; }
    sleep $((attempt * 5))
  done
  touch "$stamp"
fi
"$VENV/bin/python" -c 'import torch, onnx, safetensors, numpy, scipy, h5py, gguf, tritonclient.http' || { echo "test venv $VENV is broken: delete it and re-run" >&2; exit 3; }
echo "python test dependencies ready ($VENV/bin/python)"
