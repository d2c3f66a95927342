#!/usr/bin/env bash
# Profiles a running `stockwatch serve` under scripts/http-bench.sh-style load and draws a
# flame graph (perf from Debian's linux-perf, inferno from crates.io):
#
#   CARGO_TARGET_DIR=target/fp RUSTFLAGS="-C force-frame-pointers=yes" cargo build --release
#   target/fp/release/stockwatch serve &        # frame pointers, so perf can walk the stacks
#   scripts/http-profile.sh docs/bench/http-purchase-after.svg [--url URL] [--seconds 6]
#                           [--strategy lua|watch] [--hold]
#
# The load is purchases of one SKU (on `lua` unless told), 50 connections, as in
# BENCHMARKS.md; with `--hold`, holds of three SKUs (one unit each, an hour's TTL) instead,
# as scripts/http-bench.sh's `hold(3)` run.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: scripts/http-profile.sh OUT.svg [--url URL] [--seconds N]}"
shift
url="http://127.0.0.1:8080"
seconds=6
strategy=lua
hold=no
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --strategy) strategy="$2"; shift 2 ;;
    --hold) hold=yes; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
scripts/ensure-packages.sh wrk:wrk perf:linux-perf curl:curl
command -v inferno-flamegraph >/dev/null || cargo install inferno --locked
port="${url##*:}"
pid=$(pgrep -f "stockwatch serve" | head -1)
[ -n "$pid" ] || { echo "no stockwatch serve process to profile" >&2; exit 1; }
sku="profile$(date +%s)"
for s in "$sku" "$sku-b" "$sku-c"; do
  curl -fsS -X PUT -H 'Content-Type: application/json' -d '{"available": 1000000000}' \
    ${STOCKWATCH_ADMIN_TOKEN:+-H "Authorization: Bearer $STOCKWATCH_ADMIN_TOKEN"} "$url/v1/skus/$s/stock" >/dev/null
done
if [ "$hold" = yes ]; then
  path="/v1/reservations?strategy=$strategy"
  body="{\"user_id\":\"wrk\",\"ttl_seconds\":3600,\"items\":[{\"sku\":\"$sku\",\"quantity\":1},{\"sku\":\"$sku-b\",\"quantity\":1},{\"sku\":\"$sku-c\",\"quantity\":1}]}"
else
  path="/v1/purchases?strategy=$strategy"
  body="{\"sku\":\"$sku\",\"quantity\":1,\"user_id\":\"wrk\"}"
fi
data=$(mktemp)
( sleep 1; perf record -F 1999 -g -p "$pid" -o "$data" -- sleep "$seconds" >/dev/null 2>&1 ) &
BENCH_METHOD=POST BENCH_PATH="$path" BENCH_BODY="$body" \
  wrk -t2 -c50 -d"$((seconds + 2))s" -s scripts/wrk/request.lua "$url${path%%\?*}" | grep -E 'Requests/sec'
wait
perf script -i "$data" 2>/dev/null | inferno-collapse-perf |
  inferno-flamegraph --title "stockwatch serve (port $port): POST $path, wrk -c50" \
    --width 1400 --minwidth 1.5 >"$out"
rm -f "$data"
echo "wrote $out"
