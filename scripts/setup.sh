#!/usr/bin/env bash
# Installs the Debian packages netlab builds, tests and runs with. Idempotent: apt runs only
# when something is missing. Run as root.
set -euo pipefail
packages=(libpcap-dev libnl-3-dev libnl-route-3-dev pkg-config iproute2 tcpdump iputils-ping python3 bc)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (expected the Swift 6 toolchain)" >&2; exit 1; }
