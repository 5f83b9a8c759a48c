#!/usr/bin/env bash
# Runs the Packet benchmarks (package-benchmark, release build, malloc counts).
#   bench/packet.sh [extra `swift package benchmark` arguments]
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"
swift package --allow-writing-to-package-directory benchmark --no-progress "$@"
