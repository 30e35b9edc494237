#!/usr/bin/env bash
# Installs the real components the test suites start on loopback (Debian packages).
# Idempotent: packages already present are skipped, so repeated CI runs cost seconds.
set -euo pipefail
# shellcheck source=lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

# busybox-static: the root filesystem of test base images (nothing can be pulled; it must run
# without a libc in the image). apache2-utils: htpasswd, for the registry's bcrypt logins; openssl:
# the test token service's signing certificate and the HTTPS registry's certificate. chromium: the
# headless browser that opens the pipeline's HTML report (driven by playwright-core; nothing is
# downloaded by playwright itself).
PACKAGES=(docker-registry prometheus haproxy podman runc skopeo umoci uidmap slirp4netns fuse-overlayfs busybox-static rsync apache2-utils openssl wrk chromium)

ensure_apt_packages system "${PACKAGES[@]}"

# podman on this cgroup layout needs runc and lower ulimits (crun fails here).
if [ "$(id -u)" = "0" ]; then
  mkdir -p /etc/containers
  conf=/etc/containers/containers.conf
  if ! grep -q 'ferry-managed' "$conf" 2>/dev/null; then
    cat > "$conf" <<'CONF'
# ferry-managed: podman settings for this machine's cgroup layout
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
CONF
  fi
fi
echo "system components ready"
