#!/usr/bin/env bash
# Installs the Debian packages netlab builds, tests and runs with. Idempotent: apt runs only
# when something is missing. Run as root.
set -euo pipefail
#   curl: the container and Kubernetes labs' checks; nftables, conntrack: kube-proxy's service
#   lab; bird2: BGP in the Calico lab (its daemons run inside lab nodes, never on the machine);
#   chromium: the tests of netlab web's page, in a real (headless) browser.
packages=(libpcap-dev libnl-3-dev libnl-route-3-dev pkg-config iproute2 tcpdump iputils-ping python3 bc
          curl nftables conntrack bird2 chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  # Packages with daemons (bird2) would start them on the machine: labs run their own inside
  # nodes. policy-rc.d is Debian's way to install without starting; only ours is removed.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (expected the Swift 6 toolchain)" >&2; exit 1; }
