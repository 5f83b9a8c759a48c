#!/usr/bin/env bash
# Runs the per-packet benchmarks (package-benchmark, release build, malloc counts): the Packet
# layer (PacketBenchmarks) and the proxy's per-packet decisions and flow table (ProxyBenchmarks).
#   bench/packet.sh [extra `swift package benchmark` arguments, e.g. --target ProxyBenchmarks]
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"
swift package --allow-writing-to-package-directory benchmark --no-progress "$@"
