#!/usr/bin/env bash
# Builds the versioned CLI image that the GitLab templates run (ferry/cli:<version>, the version of
# the root package.json): the Ferry base (Node 24, its shared libraries, the ferry CLI and its
# production dependencies) plus a static busybox for the job's /bin/sh, `ferry` on PATH and no
# entrypoint, assembled by Ferry's own image builder (no daemon, nothing pulled). The recipe is
# packages/image/src/cli-image/recipe.ts.
#   bash scripts/build-cli-image.sh --output /tmp/ferry-cli            # OCI layout, tag <version>
#   bash scripts/build-cli-image.sh --output /tmp/ferry-cli.tar        # OCI archive
#   bash scripts/build-cli-image.sh --insecure-registry --push 127.0.0.1:5000/ferry/cli
# Prints the image digest. To publish a release, use scripts/publish-cli-image.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE=node_modules/.bin/node
[ -x "$NODE" ] || { echo "build-cli-image: $NODE is missing: run npm ci (the node@24 devDependency provides it)" >&2; exit 2; }
[ -f packages/image/dist/cli-image/main.js ] || bash scripts/build.sh --packages-only
exec "$NODE" packages/image/dist/cli-image/main.js build --node "$(readlink -f "$NODE")" "$@"
