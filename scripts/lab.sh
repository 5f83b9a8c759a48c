#!/usr/bin/env bash
# The main job: build netlab, bring up the default lab (topologies/proxy-kernel.toml: a Linux
# vxlan device in host1 and a netlab proxy in host2 on one VXLAN overlay, across a routed
# underlay), show traffic crossing it both ways (ping, a checked TCP transfer each way, the
# underlay decoded as it happens), print the lab's and the proxy's status, and say how to take
# it down. Running it again reuses the lab if it is already up.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product netlab
netlab=.build/release/netlab
lab=topologies/proxy-kernel.toml
name=proxy-kernel

echo "== netlab up $lab"
"$netlab" up "$lab"

echo
echo "== the underlay, decoded live while host1 (kernel vxlan) pings host2 (netlab proxy)"
"$netlab" capture "$name" router:eth1 -c 4 udp port 4789 &
capture=$!
sleep 0.5
"$netlab" exec "$name" host1 -- ping -c 3 -i 0.2 10.200.0.2
wait "$capture" || true

echo
echo "== and back: host2 pings host1 through its proxy"
"$netlab" exec "$name" host2 -- ping -c 3 -i 0.2 10.200.0.1

transfer() {  # FROM TO ADDRESS: 4 MB over TCP, checked by SHA-256 at the far end
    "$netlab" exec "$name" "$2" -- python3 -c '
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); s.settimeout(20)
c, peer = s.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
print(f"  received {n} bytes from {peer[0]}, sha256 {h.hexdigest()[:16]}")
' "$3" &
    local server=$!
    sleep 0.5
    "$netlab" exec "$name" "$1" -- python3 -c '
import hashlib, os, socket, sys, time
data = os.urandom(4 << 20); start = time.time()
c = socket.create_connection((sys.argv[1], 5001), timeout=10); c.sendall(data); c.close()
print(f"  sent     {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}, {len(data) * 8 / (time.time() - start) / 1e6:.0f} Mbit/s")
' "$3"
    wait "$server"
}

echo
echo "== 4 MB over TCP from host1 to host2, checked at the far end"
transfer host1 host2 10.200.0.2
echo "== 4 MB over TCP from host2 to host1"
transfer host2 host1 10.200.0.1

echo
echo "== netlab status $name"
"$netlab" status "$name"

echo
echo "== netlab proxy status --lab $name --node host2"
"$netlab" proxy status --lab "$name" --node host2
echo
echo "== netlab proxy flows --lab $name --node host2 --top 5"
"$netlab" proxy flows --lab "$name" --node host2 --top 5

echo
echo "The lab is still up. Try:"
echo "  $netlab exec $name host1 -- ping 10.200.0.2"
echo "  $netlab capture $name router:eth0 udp port 4789"
echo "  $netlab proxy status --lab $name --node host2"
echo "  $netlab graph $lab"
echo "Take it down with:  $netlab down $name"
