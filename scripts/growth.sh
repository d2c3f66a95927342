#!/usr/bin/env bash
# How each background job's cost grows with its work (BENCHMARKS.md, "Growth with work"),
# on a private redis-server with a release build:
#   - `stockwatch verify` over N orders: seconds and peak RSS;
#   - the expiry worker releasing N lapsed holds: seconds until the index is empty;
#   - `GET /v1/skus/{sku}/movements?limit=N` on a SKU with a full history: ms per call;
#   - a `GET /metrics` scrape with N SKUs in the store: ms per scrape.
#
#   scripts/growth.sh            # N up to 1,000,000 orders, 100,000 holds (a few minutes)
#   scripts/growth.sh --quick    # a tenth of that
set -euo pipefail
cd "$(dirname "$0")/.."
scale=1
[ "${1:-}" = "--quick" ] && scale=10
scripts/ensure-packages.sh redis-server:redis-server redis-cli:redis-tools curl:curl /usr/bin/time:time
cargo build --release -q
bin=target/release/stockwatch
server=""
# shellcheck source=scripts/private-redis.sh
. scripts/private-redis.sh
# shellcheck source=scripts/serving.sh
. scripts/serving.sh
on_exit='[ -z "$server" ] || kill "$server" 2>/dev/null'
# bench ARGS...: runs the lua strategy with --keep; prints the prefix it kept.
keep() {
  "$bin" bench --redis-url "$url" --strategy lua --keep "$@" 2>&1 >/dev/null | sed -n 's/.*--key-prefix //p'
}

echo "## verify"
echo "| orders | seconds | peak RSS MB |"
for n in $((100000 / scale)) $((1000000 / scale)); do
  cli flushall >/dev/null
  prefix=$(keep --buyers "$n" --stock "$n")
  out=$( { /usr/bin/time -f "TIME %e %M" "$bin" verify --redis-url "$url" --key-prefix "$prefix" >/dev/null; } 2>&1 )
  read -r _ secs kb <<<"$(grep '^TIME' <<<"$out")"
  echo "| $n | $secs | $((kb / 1024)) |"
done

echo "## expiry worker"
echo "| holds | seconds to release all |"
for n in $((10000 / scale)) $((100000 / scale)); do
  cli flushall >/dev/null
  prefix=$(keep --op reserve --buyers "$n" --stock "$n" --skus 100 --cart-size 1 --hold-ttl-s 1)
  indexes=$(cli --scan --pattern "$prefix:expiry:{*}")
  sleep 1.5
  start=$(date +%s.%N)
  "$bin" expiry-worker --redis-url "$url" --key-prefix "$prefix" 2>/dev/null &
  worker=$!
  while :; do
    left=$(printf 'ZCARD %s\n' $indexes | cli | awk '{ s += $1 } END { print s + 0 }')
    [ "$left" -eq 0 ] && break
    sleep 0.05
  done
  end=$(date +%s.%N)
  kill "$worker"; wait "$worker" 2>/dev/null || true
  echo "| $n | $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') |"
done

echo "## movements listing and /metrics"
cli flushall >/dev/null
hot=$(keep --buyers $((100000 / scale)) --stock $((100000 / scale)))
flat=$(keep --buyers 20000 --stock 10 --skus 10000)
port=$(free_port)
"$bin" serve --bind "127.0.0.1:$port" --redis-url "$url" --key-prefix "$hot" --expiry-worker off 2>"$dir/serve.log" &
server=$!
wait_ready "http://127.0.0.1:$port" "$dir/serve.log"
avg_ms() { # URL: mean ms over 20 calls
  local total=0
  for _ in $(seq 20); do total=$(awk -v t="$total" -v x="$(curl -fsS -o /dev/null -w '%{time_total}' "$1")" 'BEGIN { print t + x }'); done
  awk -v t="$total" 'BEGIN { printf "%.2f", t * 1000 / 20 }'
}
echo "| movements limit | ms per call (history of $(cli llen "$hot:sku:{sku0}:history") entries) |"
for limit in 10 100 1000; do
  echo "| $limit | $(avg_ms "127.0.0.1:$port/v1/skus/sku0/movements?limit=$limit") |"
done
echo "| SKUs in the store | ms per /metrics scrape |"
echo "| 1 | $(avg_ms "127.0.0.1:$port/metrics") |"
kill "$server"; wait "$server" 2>/dev/null || true
"$bin" serve --bind "127.0.0.1:$port" --redis-url "$url" --key-prefix "$flat" --expiry-worker off 2>"$dir/serve.log" &
server=$!
wait_ready "http://127.0.0.1:$port" "$dir/serve.log"
echo "| 10000 | $(avg_ms "127.0.0.1:$port/metrics") |"
