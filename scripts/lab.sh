#!/usr/bin/env bash
# The main job: build netlab, bring up the default lab (topologies/vxlan-overlay.toml: two
# hosts joined by a kernel VXLAN overlay across a routed underlay), show traffic crossing it
# (ping, a short TCP transfer, the underlay decoded as it happens), print its status, and say
# how to take it down. Running it again reuses the lab if it is already up.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product netlab
netlab=.build/release/netlab
lab=topologies/vxlan-overlay.toml

echo "== netlab up $lab"
"$netlab" up "$lab"

echo
echo "== the underlay, decoded live while host1 pings host2 across the overlay"
"$netlab" capture vxlan-overlay router:eth1 -c 4 udp port 4789 &
capture=$!
sleep 0.5
"$netlab" exec vxlan-overlay host1 -- ping -c 3 -i 0.2 10.200.0.2
wait "$capture" || true

echo
echo "== a 4 MB TCP transfer from host1 to host2 over the overlay, checked at the far end"
"$netlab" exec vxlan-overlay host2 -- python3 -c '
import hashlib, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.200.0.2", 5001)); s.listen(1); s.settimeout(20)
c, peer = s.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
print(f"host2 received {n} bytes from {peer[0]}, sha256 {h.hexdigest()[:16]}")
' &
server=$!
sleep 0.5
"$netlab" exec vxlan-overlay host1 -- python3 -c '
import hashlib, os, socket, time
data = os.urandom(4 << 20); start = time.time()
c = socket.create_connection(("10.200.0.2", 5001), timeout=10); c.sendall(data); c.close()
print(f"host1 sent {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}, {len(data) * 8 / (time.time() - start) / 1e6:.0f} Mbit/s")
'
wait "$server"

echo
echo "== netlab status vxlan-overlay"
"$netlab" status vxlan-overlay

echo
echo "The lab is still up. Try:"
echo "  $netlab exec vxlan-overlay host1 -- ping 10.200.0.2"
echo "  $netlab capture vxlan-overlay router:eth0 udp port 4789"
echo "  $netlab graph $lab"
echo "Take it down with:  $netlab down vxlan-overlay"
