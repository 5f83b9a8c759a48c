#!/usr/bin/env bash
# Labs over several hosts, simulated on one machine (hosts are namespaces of an underlay lab on
# 198.51.100.0/24, TEST-NET-2; every packet stays in them), in one run:
#   1. TCP (iperf3, 5 s, median of 3) over a stitched link between two hosts, against a kernel
#      vxlan tunnel set up by hand between the same two hosts (target: ratio >= 0.9), and over a
#      link stitched by netlab proxies ([stitch] kind = "proxy"; target: ratio >= 0.5);
#   2. a 600-node lab over 3 hosts, brought up on all hosts at once, against a 200-node lab on
#      one host (target: ratio <= 1.5, which real hosts, each with its own kernel, can meet; on
#      one machine the kernel's global locks serialise the three, so a 600-node lab on one host
#      is printed too: that is the floor of the simulation).
# Last line:
#   multi-host: stitch tcp A Gbit/s, kernel vxlan by hand B Gbit/s, ratio R1; 600 nodes on 3 hosts up C s, 200 nodes on one D s, ratio R2
#   bench/multi-host.sh          ($NETLAB, else a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v iperf3 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null; }
if [ -z "${NETLAB:-}" ]; then
  swift build -c release --product netlab >/dev/null
  NETLAB=.build/release/netlab
fi
tag="mh$$"
work=$(mktemp -d)
cleanup() {
  for h in east west north; do
    for lab in l s p; do "$NETLAB" down "${tag}$lab" --host "$h" >/dev/null 2>&1 || true; done
  done
  "$NETLAB" down "${tag}one" >/dev/null 2>&1 || true
  "$NETLAB" down "${tag}six" >/dev/null 2>&1 || true
  ip netns del "${tag}ra" 2>/dev/null || true
  ip netns del "${tag}rb" 2>/dev/null || true
  "$NETLAB" down "${tag}u" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
secs() { printf '%.2f' "$(echo "$2 - $1" | bc -l)"; }
on() { local host=$1; shift; nsenter --net="/run/netns/${tag}u.$host" "$@"; }

cat > "$work/underlay.toml" <<TOML
name = "${tag}u"
[nodes.switch.interfaces.br0]
kind = "bridge"
ports = ["p1", "p2", "p3"]
[nodes.east.interfaces.eth0]
addresses = ["198.51.100.1/24"]
[nodes.west.interfaces.eth0]
addresses = ["198.51.100.2/24"]
[nodes.north.interfaces.eth0]
addresses = ["198.51.100.3/24"]
[[links]]
endpoints = ["east:eth0", "switch:p1"]
[[links]]
endpoints = ["west:eth0", "switch:p2"]
[[links]]
endpoints = ["north:eth0", "switch:p3"]
TOML
"$NETLAB" up "$work/underlay.toml" >/dev/null

# 1. A stitched link, and a vxlan tunnel made by hand between the same hosts.
cat > "$work/stitch.toml" <<TOML
name = "${tag}s"
[hosts.east]
address = "198.51.100.1"
[hosts.west]
address = "198.51.100.2"
[nodes.a]
host = "east"
[nodes.a.interfaces.eth0]
addresses = ["10.1.0.1/24"]
[nodes.b]
host = "west"
[nodes.b.interfaces.eth0]
addresses = ["10.1.0.2/24"]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
TOML
sed -e "s/^name = .*/name = \"${tag}p\"/" -e 's/^\[hosts.east\]/[stitch]\nkind = "proxy"\nport = 4900\n[hosts.east]/' \
  "$work/stitch.toml" > "$work/proxy.toml"
for f in stitch proxy; do
  on east "$NETLAB" up "$work/$f.toml" >/dev/null 2>&1
  on west "$NETLAB" up "$work/$f.toml" >/dev/null 2>&1
done
ip netns add "${tag}ra"
ip netns add "${tag}rb"
on east ip link add vxr netns "${tag}ra" mtu 1450 type vxlan id 7777 local 198.51.100.1 remote 198.51.100.2 dstport 4790
on west ip link add vxr netns "${tag}rb" mtu 1450 type vxlan id 7777 local 198.51.100.2 remote 198.51.100.1 dstport 4790
ip -n "${tag}ra" addr add 10.9.0.1/24 dev vxr && ip -n "${tag}ra" link set vxr up && ip -n "${tag}ra" link set lo up
ip -n "${tag}rb" addr add 10.9.0.2/24 dev vxr && ip -n "${tag}rb" link set vxr up && ip -n "${tag}rb" link set lo up

tcp() {  # server-namespace client-namespace address -> Gbit/s
  ip netns exec "$1" iperf3 -s -1 -D -B "$3" >/dev/null
  sleep 0.3
  ip netns exec "$2" iperf3 -c "$3" -t 5 -J | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
s1=(); k1=(); p1=()
for i in 1 2 3; do
  s1+=("$(tcp "${tag}s@west.b" "${tag}s@east.a" 10.1.0.2)")
  k1+=("$(tcp "${tag}rb" "${tag}ra" 10.9.0.2)")
  p1+=("$(tcp "${tag}p@west.b" "${tag}p@east.a" 10.1.0.2)")
done
A=$(median "${s1[@]}"); B=$(median "${k1[@]}"); P=$(median "${p1[@]}")
R1=$(printf '%.2f' "$(echo "$A / $B" | bc -l)")
R3=$(printf '%.2f' "$(echo "$P / $B" | bc -l)")
echo "stitch tcp ${s1[*]} Gbit/s; kernel vxlan by hand ${k1[*]} Gbit/s; proxy stitch ${p1[*]} Gbit/s"
echo "proxy stitch: tcp $P Gbit/s, ratio $R3 to the kernel vxlan by hand (target >= 0.5)"
for lab in s p; do on east "$NETLAB" down "${tag}$lab" >/dev/null; on west "$NETLAB" down "${tag}$lab" >/dev/null; done

# 2. 600 nodes over 3 hosts (a chain of 200 on each, the chains' ends stitched), all hosts at
#    once, against a chain of 200 on one host.
python3 - "$tag" "$work" <<'PY'
import sys
tag, work = sys.argv[1], sys.argv[2]
def chain(prefix, n, host=None):
    lines = []
    for i in range(n):
        lines.append(f"[nodes.{prefix}{i}]")
        if host: lines.append(f'host = "{host}"')
    for i in range(n - 1):
        lines += ["[[links]]", f'endpoints = ["{prefix}{i}:r", "{prefix}{i + 1}:l"]']
    return lines
one = [f'name = "{tag}one"'] + chain("n", 200)
six = [f'name = "{tag}six"'] + chain("n", 600)
many = [f'name = "{tag}l"', '[hosts.east]', 'address = "198.51.100.1"', '[hosts.west]', 'address = "198.51.100.2"',
        '[hosts.north]', 'address = "198.51.100.3"']
for h in ("east", "west", "north"):
    many += chain(h[0], 200, h)
many += ["[[links]]", 'endpoints = ["e199:x", "w0:x"]', "[[links]]", 'endpoints = ["w199:x", "n0:x"]']
open(f"{work}/one.toml", "w").write("\n".join(one) + "\n")
open(f"{work}/six.toml", "w").write("\n".join(six) + "\n")
open(f"{work}/many.toml", "w").write("\n".join(many) + "\n")
PY
t0=$(now); "$NETLAB" up "$work/one.toml" --no-wait >/dev/null 2>&1; t1=$(now)
"$NETLAB" down "${tag}one" >/dev/null
# The floor of a simulation on one machine: the kernel makes namespaces and links one at a time
# (its locks are global), so 600 nodes cost what they cost however many "hosts" ask.
t4=$(now); "$NETLAB" up "$work/six.toml" --no-wait >/dev/null 2>&1; t5=$(now)
"$NETLAB" down "${tag}six" >/dev/null
t2=$(now)
for h in east west north; do on "$h" "$NETLAB" up "$work/many.toml" --no-wait >/dev/null 2>&1 & done
wait
t3=$(now)
for h in east west north; do on "$h" "$NETLAB" down "${tag}l" >/dev/null; done
C=$(secs "$t2" "$t3"); D=$(secs "$t0" "$t1"); E=$(secs "$t4" "$t5")
R2=$(printf '%.2f' "$(echo "$C / $D" | bc -l)")
left=$(ip netns list | grep -c "^${tag}[losp]" || true)
[ "$left" = 0 ] || { echo "left $left namespaces" >&2; exit 1; }
echo "600 nodes on one host (this machine's floor for 600): $E s"
echo "multi-host: stitch tcp $A Gbit/s, kernel vxlan by hand $B Gbit/s, ratio $R1; 600 nodes on 3 hosts up $C s, 200 nodes on one $D s, ratio $R2"
