#!/usr/bin/env bash
# Builds the Ferry base image (runtime "ferry"): Node 24, the shared libraries it and
# onnxruntime-node need, and the ferry CLI with its production dependencies, assembled from this
# checkout's files by Ferry's own image builder (no daemon, nothing pulled). The recipe is
# packages/image/src/ferry-base/recipe.ts; the published image is made the same way:
#   bash scripts/build-ferry-base.sh --push ghcr.io/ferry-ml/ferry-serve:0.1.0
#   bash scripts/build-ferry-base.sh --output /tmp/ferry-serve --insecure-registry --push 127.0.0.1:5000/ferry/serve:dev
set -euo pipefail
cd "$(dirname "$0")/.."
NODE=node_modules/.bin/node
[ -x "$NODE" ] || { echo "build-ferry-base: $NODE is missing: run npm ci (the node@24 devDependency provides it)" >&2; exit 2; }
[ -f packages/image/dist/ferry-base/main.js ] || bash scripts/build.sh --packages-only
exec "$NODE" packages/image/dist/ferry-base/main.js --node "$(readlink -f "$NODE")" "$@"
