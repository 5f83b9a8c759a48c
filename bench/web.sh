#!/usr/bin/env bash
# netlab web with a 500-node lab (a bridge with 500 hosts), in one run:
#   - how long headless Chromium takes from opening the page to the lab drawn (every node in
#     the SVG) and live (a stats event applied to the links); target: 2 s;
#   - what the stats stream costs the netlab web process (CPU seconds per second, while one
#     client reads it for 10 s); target: under 5% of one core.
# Last line:
#   web500: drawn and live in A s; stats stream B% of one core
#   bench/web.sh [N]      ($NETLAB, else a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-500}"
if [ -z "${NETLAB:-}" ]; then
  swift build -c release --product netlab >/dev/null
  NETLAB=.build/release/netlab
fi
name="web$$"
port=$((30000 + $$ % 20000))
work=$(mktemp -d)
web=""
cleanup() {
  [ -n "$web" ] && kill "$web" 2>/dev/null && wait "$web" 2>/dev/null || true
  "$NETLAB" down "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
python3 bench/make-lab.py star "$n" "$name" "$work/lab.toml" "$work/lab.batch"
"$NETLAB" up "$work/lab.toml" --no-wait >/dev/null 2>&1
"$NETLAB" web --listen "127.0.0.1:$port" >/dev/null 2>&1 &
web=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/labs" >/dev/null && break; sleep 0.05; done
cat > "$work/steps.json" <<JSON
[{"eval": "window.benchStart = performance.now()", "until": "document.querySelectorAll('g.node').length === $((n + 1)) && [...document.querySelectorAll('line.link')].some(l => l.dataset.bps !== undefined) && (performance.now() / 1000).toFixed(2)", "timeout": 60}]
JSON
# The page's own clock: from navigation start to drawn and live.
drawn=$(python3 Tests/WebTests/Browser/drive.py "http://127.0.0.1:$port/#lab=$name" "$work/steps.json" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["value"])')
ticks() { awk '{print $14 + $15}' "/proc/$web/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks)
curl -sN --max-time 10 "http://127.0.0.1:$port/api/labs/$name/stats" >/dev/null || true
after=$(ticks)
cost=$(printf '%.1f' "$(echo "($after - $before) * 100 / $hz / 10" | bc -l)")
echo "web$n: drawn and live in $drawn s; stats stream $cost% of one core"
