#!/usr/bin/env bash
# Installs the real components the test suites start on loopback (Debian packages).
# Idempotent: packages already present are skipped, so repeated CI runs cost seconds.
set -euo pipefail

# busybox-static: the root filesystem of test base images (nothing can be pulled; it must run
# without a libc in the image). apache2-utils: htpasswd, for the registry's bcrypt logins; openssl:
# the test token service's signing certificate and the HTTPS registry's certificate.
PACKAGES=(docker-registry prometheus haproxy podman runc skopeo umoci uidmap slirp4netns fuse-overlayfs busybox-static rsync apache2-utils openssl wrk)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != "0" ]; then
    echo "missing system packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Services must not start on install: the tests start their own instances on loopback.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  for attempt in 1 2 3; do
    if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/ferry-apt.log 2>&1; then
      break
    fi
    if [ "$attempt" = 3 ]; then
      tail -30 /tmp/ferry-apt.log >&2
      echo "apt-get install failed after 3 attempts" >&2
      exit 3
    fi
    sleep $((attempt * 5))
  done
fi

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
