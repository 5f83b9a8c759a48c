#!/usr/bin/env bash
# The main job. Until `netlab up` lands (issue 4), it decodes the shipped sample capture of a
# VXLAN overlay: outer and inner layers, as text and as the JSON contract.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product netlab
netlab=.build/release/netlab
sample=Tests/DecodeTests/Captures/08_vxlan.pcap
echo "== netlab decode $sample"
"$netlab" decode "$sample" --number
echo
echo "== netlab decode $sample --json --count 2"
"$netlab" decode "$sample" --json --count 2
