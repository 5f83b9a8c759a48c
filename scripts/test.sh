#!/usr/bin/env bash
# The whole test suite: unit, integration (real namespaces, veth, vxlan, tcpdump captures, as
# root) and a bounded libFuzzer run of the packet walker. Installs what it needs first.
#   scripts/test.sh            FUZZ_SECONDS=60 scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/sweep-test-leftovers.sh
swift build --build-tests
swift test
scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
