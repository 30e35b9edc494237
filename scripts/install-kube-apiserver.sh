#!/usr/bin/env bash
# The envtest-style Kubernetes control plane the Kubernetes target tests start on loopback:
# kube-apiserver built from the Kubernetes Go module, etcd from Debian's etcd-server, and the real
# CRDs from the KServe and Gateway API Go modules. Everything lands in a cache outside the clone
# (default /var/cache/ferry/k8s/<version>/, with a stamp), so a second run and CI skip the build.
#
# kube-apiserver is built in a throwaway module that requires k8s.io/kubernetes and replaces every
# k8s.io/* staging module (listed by the kubernetes go.mod's own `=> ./staging/...` replaces) with
# the published v0.X.Y release at the same level. The build runs under `nice -n 19` with
# GOFLAGS=-p=1: the machine has 2 cores shared with other work.
# Cold build measured on this machine (2 cores shared with other work, empty Go module cache for
# Kubernetes): 650 s, about 11 minutes, for v1.34.4 (module download about 1 minute, the rest is
# compiling about 1,950 packages one at a time); the binary is 100 MB.
# Cached run: under a second. Exit 2: bad environment (no Go, not root for apt); exit 3: network
# or build failure after retries (the log's tail is printed).
set -euo pipefail
# shellcheck source=lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

K8S_VERSION="${FERRY_K8S_VERSION:-v1.34.4}"
KSERVE_VERSION="${FERRY_KSERVE_VERSION:-v0.20.0}"
GATEWAY_API_VERSION="${FERRY_GATEWAY_API_VERSION:-v1.3.0}"
CACHE="${FERRY_K8S_CACHE:-/var/cache/ferry/k8s}/$K8S_VERSION"
# The CRDs and the binary are cached apart: a new KServe or Gateway API version downloads CRDs
# again (seconds) without rebuilding kube-apiserver (minutes).
# KServe's newest CRD (with spec.canary for RawDeployment canaries) is installed by default; the
# older one, without it, is kept beside it for the tests of clusters on older KServe releases.
KSERVE_OLD_VERSION="${FERRY_KSERVE_OLD_VERSION:-v0.16.0}"
CRD_STAMP="$CACHE/crds/.ferry-stamp"
CRD_STAMP_VALUE="kserve=$KSERVE_VERSION kserve-old=$KSERVE_OLD_VERSION gateway-api=$GATEWAY_API_VERSION"

ensure_apt_packages kube-apiserver etcd-server openssl

binary_ready() {
  [ -x "$CACHE/kube-apiserver" ] && "$CACHE/kube-apiserver" --version 2>/dev/null | grep -qx "Kubernetes $K8S_VERSION"
}
crds_ready() {
  [ "$(cat "$CRD_STAMP" 2>/dev/null)" = "$CRD_STAMP_VALUE" ]
}

if binary_ready && crds_ready; then
  echo "kube-apiserver $K8S_VERSION and CRDs ready in $CACHE (cached)"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "building kube-apiserver needs Go (https://go.dev/dl/, 1.24 or newer) on PATH" >&2
  exit 2
fi

# retry LOG CMD...: three tries with a pause, for the module proxy's occasional network errors.
retry() {
  local log="$1" attempt
  shift
  for attempt in 1 2 3; do
    if "$@" >>"$log" 2>&1; then return 0; fi
    if [ "$attempt" = 3 ]; then
      tail -40 "$log" >&2
      echo "failed after 3 attempts: $* (log: $log)" >&2
      exit 3
    fi
    echo "attempt $attempt failed: $*; retrying"
    sleep $((attempt * 10))
  done
}

started=$SECONDS
log=/tmp/ferry-kube-apiserver-build.log
: >"$log"
work=$(mktemp -d /tmp/ferry-kube-apiserver.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$CACHE"
export GOTOOLCHAIN=local GOFLAGS="-p=1 -buildvcs=false" CGO_ENABLED=0

# module_dir MODULE@VERSION: the extracted module directory, downloaded once into the module cache.
module_dir() {
  (cd "$work" && retry "$log" go mod download "$1")
  (cd "$work" && go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
}

if ! crds_ready; then
  echo "downloading the CRDs: KServe $KSERVE_VERSION (and $KSERVE_OLD_VERSION), Gateway API $GATEWAY_API_VERSION"
  kserve_dir=$(module_dir "github.com/kserve/kserve@$KSERVE_VERSION")
  kserve_old_dir=$(module_dir "github.com/kserve/kserve@$KSERVE_OLD_VERSION")
  gateway_dir=$(module_dir "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")
  rm -rf "$CACHE/crds.tmp" && mkdir -p "$CACHE/crds.tmp/kserve-$KSERVE_OLD_VERSION"
  cp "$kserve_dir/config/crd/full/serving.kserve.io_inferenceservices.yaml" "$CACHE/crds.tmp/"
  cp "$kserve_old_dir/config/crd/full/serving.kserve.io_inferenceservices.yaml" "$CACHE/crds.tmp/kserve-$KSERVE_OLD_VERSION/"
  for kind in gatewayclasses gateways httproutes referencegrants; do
    cp "$gateway_dir/config/crd/standard/gateway.networking.k8s.io_$kind.yaml" "$CACHE/crds.tmp/"
  done
  chmod -R u+w "$CACHE/crds.tmp"
  echo "$CRD_STAMP_VALUE" >"$CACHE/crds.tmp/.ferry-stamp"
  rm -rf "$CACHE/crds" && mv "$CACHE/crds.tmp" "$CACHE/crds"
fi

if binary_ready; then
  echo "kube-apiserver $K8S_VERSION and CRDs ready in $CACHE (binary cached)"
  exit 0
fi

echo "building kube-apiserver $K8S_VERSION from the Kubernetes Go module (first run only; about 11 minutes on 2 cores)"
staging="v0.${K8S_VERSION#v1.}"
cd "$work"
cat >go.mod <<EOF
module ferry.local/kube-apiserver-build

go 1.24

require k8s.io/kubernetes $K8S_VERSION
EOF
retry "$log" go mod download -json "k8s.io/kubernetes@$K8S_VERSION"
k8s_mod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
modules=$(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$k8s_mod" | sort -u)
if [ -z "$modules" ]; then
  echo "no staging replaces found in $k8s_mod: the Kubernetes go.mod layout changed" >&2
  exit 3
fi
for m in $modules; do echo "replace $m => $m $staging" >>go.mod; done
cat >tools.go <<'EOF'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
EOF
retry "$log" go mod tidy
retry "$log" nice -n 19 go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)" -o "$CACHE/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "$CACHE/kube-apiserver.tmp" "$CACHE/kube-apiserver"
"$CACHE/kube-apiserver" --version
echo "kube-apiserver $K8S_VERSION and CRDs ready in $CACHE ($((SECONDS - started)) s)"
