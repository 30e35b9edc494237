# Sourced by the install scripts. ensure_apt_packages NAME PACKAGE...: installs the Debian packages
# that are missing (as root, three tries with a pause, log in /tmp/ferry-apt-NAME.log), without
# starting any service they ship (the tests start their own on loopback). Not root: exit 2 with the
# command to run. Every try failed: exit 3 with the log's tail.
ensure_apt_packages() {
  local name="$1"
  shift
  local missing=() p attempt log="/tmp/ferry-apt-$name.log"
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" != "0" ]; then
    echo "missing Debian packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d; }
  for attempt in 1 2 3; do
    if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then return 0; fi
    if [ "$attempt" = 3 ]; then
      tail -30 "$log" >&2
      echo "apt-get install ${missing[*]} failed after 3 attempts (log: $log)" >&2
      exit 3
    fi
    sleep $((attempt * 5))
  done
}
