#!/usr/bin/env bash
# Removes what a killed test run left behind: labs (through `netlab down`, which also ends their
# services and removes their cgroups, mounts and /etc/netns files) and network namespaces whose
# names carry a test prefix and the PID of a process that no longer exists. Anything whose PID
# is alive, or that has no test prefix, is left alone.
set -uo pipefail
pattern='^(nlt|nlk|tnt|tno|tnp|tnq|tnb|tnm|tnr|tnh|tnc|tnu|tns|nltweb)([0-9]+)|^nlt(lab|cmd|tun)([0-9]+)-|^netlab-probe-([0-9]+)$'
cd "$(dirname "$0")/.."
netlab=.build/debug/netlab
for state in /run/netlab/*.json; do
  [ -e "$state" ] || continue
  name=$(basename "$state" .json)
  if [[ $name =~ ^nlt(lab|cmd|tun)([0-9]+)- ]] && ! kill -0 "${BASH_REMATCH[2]}" 2>/dev/null; then
    if [ -x "$netlab" ]; then
      "$netlab" down "$name" >/dev/null 2>&1 && echo "sweep: took down lab $name"
    fi
    rm -f "$state" && echo "sweep: removed $state"
  fi
done
for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
  if [[ $ns =~ $pattern ]]; then
    pid="${BASH_REMATCH[2]}${BASH_REMATCH[4]}${BASH_REMATCH[5]}"
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      ip netns del "$ns" 2>/dev/null && echo "sweep: removed namespace $ns (test PID $pid is gone)"
    fi
  fi
done
exit 0
