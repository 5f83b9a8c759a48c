#!/usr/bin/env bash
# Fuzzes the layer walker and both decode formatters with libFuzzer and AddressSanitizer.
#   scripts/fuzz.sh [SECONDS]     (default 60)
# The seed corpus is Fuzz/corpus (committed); new inputs go to .build-fuzz/corpus (ignored).
# A crash leaves its input as .build-fuzz/crash-* and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"

swift build -c release --product PacketFuzz --scratch-path .build-fuzz \
  -Xswiftc -DFUZZING -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 \
  | grep -v -e "Cannot export local symbol" -e "^warning: 'main'" || true
binary=.build-fuzz/release/PacketFuzz
[ -x "$binary" ] || { echo "fuzz: build failed" >&2; exit 1; }

mkdir -p .build-fuzz/corpus
SWIFT_BACKTRACE=enable=no "$binary" .build-fuzz/corpus Fuzz/corpus \
  -use_value_profile=1 -max_total_time="$seconds" -max_len=2048 -timeout=5 \
  -artifact_prefix=.build-fuzz/ -print_final_stats=1 2>&1 | tail -n 12
echo "fuzz: ${seconds}s without a finding"
