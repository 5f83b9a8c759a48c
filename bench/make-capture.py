#!/usr/bin/env python3
"""Writes a pcap of N packets cycling through a mixed set of real frames.

The frames come from the decode contract's example captures in Tests/DecodeTests/Captures
(VXLAN with inner TCP/UDP/ARP/IPv6/VLAN, TCP with options, ARP) plus a raw IPv6 TCP frame
and a VLAN-tagged frame built here, so tcpdump and netlab decode the same mix.

    bench/make-capture.py OUT.pcap [COUNT]
"""
import struct
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
captures = root / "Tests" / "DecodeTests" / "Captures"


def records(path):
    data = path.read_bytes()
    offset = 24
    while offset + 16 <= len(data):
        _, _, caplen, _ = struct.unpack("<IIII", data[offset:offset + 16])
        offset += 16
        yield data[offset:offset + caplen]
        offset += caplen


frames = []
for name in ("01_eth_arp.pcap", "06_tcp.pcap", "08_vxlan.pcap"):
    frames.extend(records(captures / name))

# Ethernet / IPv6 / TCP (SYN with MSS) and Ethernet / 802.1Q / IPv4 / UDP.
frames.append(bytes.fromhex(
    "02005e00000b02005e00000a86dd"
    "6000000000180640" "20010db8000000000000000000000001" "20010db8000000000000000000000002"
    "c35000500000000100000000600220000000000002040578"))
frames.append(bytes.fromhex(
    "02005e00000b02005e00000a8100002a0800"
    "4500001e0001000040110000c0000201c0000202" "9c400007000a0000" "6869"))

out = Path(sys.argv[1])
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
with out.open("wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    chunks = []
    for i in range(count):
        frame = frames[i % len(frames)]
        chunks.append(struct.pack("<IIII", 1_700_000_000 + i // 1000, (i % 1000) * 1000, len(frame), len(frame)))
        chunks.append(frame)
        if len(chunks) >= 20000:
            f.write(b"".join(chunks))
            chunks.clear()
    f.write(b"".join(chunks))
print(f"{out}: {count} packets from {len(frames)} distinct frames")
