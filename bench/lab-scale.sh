#!/usr/bin/env bash
# Builds and removes two large labs with netlab and with an `ip -batch` script, in one run:
#   chain500: 500 namespaces in a line (veth, /31 addresses, ip_forward, routes to both ends)
#   star500:  one bridge with 500 ports, a host namespace on each
#   services500: star500 with a service on every host (a TCP listener, ready when it listens):
#             netlab only, the time until every service is ready
# Prints each time and checks that nothing is left behind. Last line:
#   chain500 up A s down B s; ip -batch up C s down D s; ratio R      (R = C / A)
#   bench/lab-scale.sh [N]        (N defaults to 500; $NETLAB, else a release build)
# netlab runs `up --no-wait`: like the ip script, it returns without waiting for the kernel's
# link watcher to bring every veth operationally up.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-500}"
if [ -z "${NETLAB:-}" ]; then
  swift build -c release --product netlab >/dev/null
  NETLAB=.build/release/netlab
fi
work=$(mktemp -d)
cleanup() {
  "$NETLAB" down "lss$$" >/dev/null 2>&1 || true
  "$NETLAB" down "lsc$$" >/dev/null 2>&1 || true
  "$NETLAB" down "lsv$$" >/dev/null 2>&1 || true
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^ls[cs]$$\."); do ip netns del "$ns"; done 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
secs() { printf '%.2f' "$(echo "$2 - $1" | bc -l)"; }

# ip -batch: the global part in one batch, then one `ip -n NS -batch` per namespace section.
ip_up() {
  local file=$1
  awk '/^#NS /{exit} {print}' "$file" > "$work/global.batch"
  ip -batch "$work/global.batch"
  awk -v dir="$work" '/^#NS /{ns=$2; next} ns {print > (dir "/ns-" ns ".batch")}' "$file"
  for f in "$work"/ns-*.batch; do
    local ns=${f#"$work/ns-"}; ns=${ns%.batch}
    ip -n "$ns" -batch "$f"
  done
  rm -f "$work"/ns-*.batch
}
ip_down() {
  ip netns list | awk '{print $1}' | grep -E "^$1\." | sed 's/^/netns del /' > "$work/down.batch"
  ip -batch "$work/down.batch"
}
left() { ip netns list | awk '{print $1}' | grep -cE "^$1\." || true; }

run() {  # kind label
  local kind=$1 label=$2 name="ls${1:0:1}$$"
  python3 bench/make-lab.py "$kind" "$n" "$name" "$work/$kind.toml" "$work/$kind.batch"
  local t0 t1 t2 t3 t4 t5 t6 t7
  t0=$(now); "$NETLAB" up "$work/$kind.toml" --no-wait >/dev/null 2>&1; t1=$(now)
  t2=$(now); "$NETLAB" down "$name" >/dev/null; t3=$(now)
  [ "$(left "$name")" = 0 ] || { echo "netlab down left $(left "$name") namespaces of $name" >&2; exit 1; }
  t4=$(now); ip_up "$work/$kind.batch"; t5=$(now)
  t6=$(now); ip_down "$name"; t7=$(now)
  [ "$(left "$name")" = 0 ] || { echo "ip left namespaces of $name" >&2; exit 1; }
  A=$(secs "$t0" "$t1"); B=$(secs "$t2" "$t3"); C=$(secs "$t4" "$t5"); D=$(secs "$t6" "$t7")
  echo "$label: netlab up ${A}s down ${B}s; ip -batch up ${C}s down ${D}s; ratio $(printf '%.2f' "$(echo "$C / $A" | bc -l)")"
}

services() {
  local name="lsv$$"
  python3 bench/make-lab.py services "$n" "$name" "$work/services.toml" "$work/services.batch"
  local t0 t1 t2 t3
  t0=$(now); "$NETLAB" up "$work/services.toml" --no-wait >/dev/null 2>&1; t1=$(now)
  local ready
  ready=$(grep -o '"state":"ready"' "/run/netlab/$name/services.json" | wc -l)
  [ "$ready" = "$n" ] || { echo "only $ready of $n services are ready" >&2; exit 1; }
  t2=$(now); "$NETLAB" down "$name" >/dev/null; t3=$(now)
  [ "$(left "$name")" = 0 ] || { echo "netlab down left namespaces of $name" >&2; exit 1; }
  [ ! -e "/sys/fs/cgroup/unified/netlab/$name" ] && [ ! -e "/sys/fs/cgroup/netlab/$name" ] || { echo "cgroups of $name left" >&2; exit 1; }
  echo "services$n: netlab up until $n services are ready $(secs "$t0" "$t1")s, down $(secs "$t2" "$t3")s"
}

run star "star$n"
# An older netlab (NETLAB=... for an A/B run) has no services: skip them.
if "$NETLAB" --help 2>&1 | grep -q " logs "; then services; fi
run chain "chain$n"
echo "chain$n up $A s down $B s; ip -batch up $C s down $D s; ratio $(printf '%.2f' "$(echo "$C / $A" | bc -l)")"
