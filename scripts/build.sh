#!/usr/bin/env bash
# Builds the workspace packages (tsc, in dependency order) and, unless --packages-only, the action
# bundles (ncc) into actions/<step>/dist. `--dist-out DIR` writes bundles under DIR instead, which
# the dist check uses to compare a fresh build with the committed one.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(core stats bench model serve image rollout platform cli)
packages_only=0
dist_out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --packages-only) packages_only=1 ;;
    --dist-out) dist_out="$2"; shift ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
TSC=node_modules/.bin/tsc
NCC=node_modules/.bin/ncc
for p in "${PACKAGES[@]}"; do
  "$TSC" -p "packages/$p/tsconfig.json"
done
chmod +x packages/cli/dist/bin.js
[ "$packages_only" = 1 ] && exit 0

"$TSC" -p actions/tsconfig.json
bundle() {
  local step=$1 out
  if [ -n "$dist_out" ]; then out="$dist_out/actions/$step/dist"; else out="actions/$step/dist"; fi
  rm -rf "$out"
  "$NCC" build "build/actions/$step/src/index.js" -o "$out" --quiet --no-source-map-register --license licenses.txt
  # The load generator's worker threads run a script of their own, bundled beside index.js.
  if [ "$step" = benchmark-on-gpu-runner ]; then
    "$NCC" build packages/bench/dist/load/worker.js -o "$out/load-worker" --quiet --no-source-map-register --license licenses.txt
  fi
}
export -f bundle
export NCC dist_out
# Two bundles at a time: ncc is single-threaded and these machines have two cores.
ls actions | grep -v tsconfig.json | xargs -P 2 -I{} bash -c 'bundle {}' 
