#!/usr/bin/env bash
# Publishes the CLI image from CI: builds it (scripts/build-cli-image.sh's recipe) and pushes it to
# $FERRY_CLI_IMAGE_REPOSITORY as <version> and, on a release tag vX.Y.Z (CI_COMMIT_TAG, or
# GITHUB_REF_NAME with GITHUB_REF_TYPE=tag), also as X.Y. The tag must match package.json.
# Credentials: FERRY_CLI_REGISTRY_USERNAME/FERRY_CLI_REGISTRY_PASSWORD, else GitLab's
# CI_REGISTRY_USER/CI_REGISTRY_PASSWORD for $CI_REGISTRY, else the docker config file; never printed.
# FERRY_CLI_IMAGE_INSECURE=true: plain HTTP (loopback test registries only). In .gitlab-ci.yml:
#   publish-cli-image:
#     rules: [{ if: $CI_COMMIT_TAG =~ /^v\d+\.\d+\.\d+$/ }]
#     variables: { FERRY_CLI_IMAGE_REPOSITORY: $CI_REGISTRY_IMAGE/cli }
#     script: [npm ci, bash scripts/publish-cli-image.sh]
set -euo pipefail
cd "$(dirname "$0")/.."
NODE=node_modules/.bin/node
[ -x "$NODE" ] || { echo "publish-cli-image: $NODE is missing: run npm ci (the node@24 devDependency provides it)" >&2; exit 2; }
[ -f packages/image/dist/cli-image/main.js ] || bash scripts/build.sh --packages-only
exec "$NODE" packages/image/dist/cli-image/main.js publish --node "$(readlink -f "$NODE")" "$@"
