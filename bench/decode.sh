#!/usr/bin/env bash
# Times `netlab decode` against `tcpdump -nn -e -r` on the same million-packet mixed capture
# (VXLAN, TCP, IPv6, VLAN, ARP), output to /dev/null, best of 3 runs each.
#   bench/decode.sh [COUNT]
# Uses $NETLAB if set, else builds the release binary. The last line is
#   decode us/packet: tcpdump T, netlab text A (ratio RA), netlab json B (ratio RB)
# where a ratio is netlab's time over tcpdump's (the target is 0.5 or less).
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-1000000}"
command -v tcpdump >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tcpdump >/dev/null; }
if [ -z "${NETLAB:-}" ]; then
  swift build -c release --product netlab >/dev/null
  NETLAB=.build/release/netlab
fi
capture=$(mktemp --suffix=.pcap)
trap 'rm -f "$capture"' EXIT
python3 bench/make-capture.py "$capture" "$count"

best() {  # best wall time in seconds over 3 runs of "$@" > /dev/null
  local best=""
  for _ in 1 2 3; do
    local start end t
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
  done
  echo "$best"
}

t_tcpdump=$(best tcpdump -nn -e -r "$capture")
t_text=$(best "$NETLAB" decode "$capture")
t_json=$(best "$NETLAB" decode "$capture" --json)
per() { echo "scale=3; $1 * 1000000 / $count" | bc -l; }
ratio() { echo "scale=3; $1 / $t_tcpdump" | bc -l; }
echo "packets: $count"
echo "tcpdump -nn -e -r: ${t_tcpdump}s"
echo "netlab decode:      ${t_text}s"
echo "netlab decode --json: ${t_json}s"
echo "decode us/packet: tcpdump $(per "$t_tcpdump"), netlab text $(per "$t_text") (ratio $(ratio "$t_text")), netlab json $(per "$t_json") (ratio $(ratio "$t_json"))"
