#!/usr/bin/env bash
# The one test command: installs what the tests need (system components, Node 24 through npm),
# builds the packages, and runs the whole suite on Node 24. `.ci/run` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

if [ ! -x node_modules/.bin/node ] || [ ! -x node_modules/.bin/vitest ]; then
  echo "node_modules is missing: run npm ci first" >&2
  exit 2
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 24 ]; then
  echo "tests run on Node 24 (the GitHub node24 runtime); node_modules/.bin/node is $(node --version): run npm ci" >&2
  exit 2
fi

bash scripts/install-system-deps.sh
bash scripts/install-python-deps.sh
bash scripts/install-model-servers.sh
bash scripts/install-kube-apiserver.sh
bash scripts/build.sh --packages-only
FERRY_SKIP_BUILD=1 vitest run "$@"
