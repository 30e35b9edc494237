#!/usr/bin/env bash
# Writes Ferry's GitLab component project into DIR: templates/<component>.yml (jobs pinned to the
# CLI image of the component version), README.md and .gitlab-ci.yml (component tests at the pushed
# commit, and a release job on semver tags). Commit DIR and push a tag equal to Ferry's version.
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
entry="$root/packages/platform/dist/generate/component-project-main.js"
if [ ! -f "$entry" ]; then
  echo "$entry is missing: run \"bash scripts/build.sh --packages-only\" first" >&2
  exit 1
fi
node="$root/node_modules/.bin/node"
[ -x "$node" ] || node=node
exec "$node" "$entry" "$1"
