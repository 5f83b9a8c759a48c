#!/usr/bin/env bash
# TUN throughput: two network namespaces, a TUN device in each, joined by tun-forward (built on
# the Tun library: read from one device, write to the other), measured with iperf3 TCP and UDP
# with 1 and 2 queues, with and without virtio-net offloads, beside a plain veth pair, in one run.
#   bench/tun.sh [SECONDS]           (default 5 per measurement)
# Modes: plain (no virtio header: one packet per read and write), offload (GSO super-packets
# pass through whole), and gro (the Tun queue cuts super-packets into MTU segments as it reads,
# and merges runs again as it writes: the path a tunnel takes).
# Last line:  offload speed-up: R    (TCP throughput in gro mode / plain, 1 queue)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-5}"
command -v iperf3 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null; }
swift build -c release --product tun-forward >/dev/null
forward=.build/release/tun-forward
a="tunbench$$a"; b="tunbench$$b"; fwd=""
cleanup() {
  [ -n "$fwd" ] && kill -INT "$fwd" 2>/dev/null && wait "$fwd" 2>/dev/null || true
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip -n "$a" link set lo up; ip -n "$b" link set lo up

# iperf3 in B, client in A; prints Gbit/s (receiver side).
measure() {  # target extra-client-args...
  local target=$1; shift
  ip netns exec "$b" iperf3 -s -1 -D -B "$target" >/dev/null 2>&1
  sleep 0.3
  ip netns exec "$a" iperf3 -c "$target" -t "$seconds" -J "$@" 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)["end"]
s = r.get("sum_received") or r.get("sum")
print("%.2f" % (s["bits_per_second"] / 1e9))'
}

run_forwarder() {  # args...
  "$forward" "$a" "$b" "$@" > "/tmp/tunbench$$.out" 2>&1 &
  fwd=$!
  for _ in $(seq 50); do grep -q ready "/tmp/tunbench$$.out" 2>/dev/null && break; sleep 0.1; done
}
stop_forwarder() {
  kill -INT "$fwd"; wait "$fwd" || true; fwd=""
}

declare -A tcp udp
for queues in 1 2; do
  for mode in plain offload gro; do
    flags=(--queues "$queues")
    [ "$mode" = offload ] && flags+=(--offload)
    [ "$mode" = gro ] && flags+=(--offload --split --gro)
    run_forwarder "${flags[@]}"
    tcp[$mode$queues]=$(measure 10.99.0.2 -P "$queues")
    udp[$mode$queues]=$(measure 10.99.0.2 -u -b 0 -l 1400 -P "$queues")
    stop_forwarder
    echo "tun $mode, $queues queue(s): TCP ${tcp[$mode$queues]} Gbit/s, UDP ${udp[$mode$queues]} Gbit/s"
  done
done

ip -n "$a" link add veth0 type veth peer name veth0 netns "$b"
ip -n "$a" addr add 10.98.0.1/24 dev veth0; ip -n "$b" addr add 10.98.0.2/24 dev veth0
ip -n "$a" link set veth0 up; ip -n "$b" link set veth0 up
sleep 1
echo "veth pair: TCP $(measure 10.98.0.2) Gbit/s, UDP $(measure 10.98.0.2 -u -b 0 -l 1400) Gbit/s"
echo "offload speed-up: $(python3 -c "print('%.2f' % (${tcp[gro1]} / max(${tcp[plain1]}, 0.001)))")"
