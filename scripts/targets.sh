#!/usr/bin/env bash
# The throughput targets of BENCHMARKS.md ("Performance: group commit on both paths"), in one
# sitting on a private redis-server (Unix socket, no persistence), release build:
#   - the ceiling: redis-benchmark -c 50 EVALSHA of a one-line script;
#   - the library bench, watch and lua, on a hot SKU at c=50 and c=500 and on 10,000 SKUs at
#     c=50, each the median of --runs runs, with group commit's batch size and batches/s,
#     Redis CPU per order and the floor (a purchase's writes as plain pipelines);
#   - the CPU split (bench process, redis-server) of the hot c=500 run.
#
#   scripts/targets.sh [--runs 3] [--buyers 20000]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
buyers=20000
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --buyers) buyers="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
scripts/ensure-packages.sh redis-server:redis-server redis-benchmark:redis-tools redis-cli:redis-tools
cargo build --release -q
bin=target/release/stockwatch
# shellcheck source=scripts/private-redis.sh
. scripts/private-redis.sh

sha=$(cli script load "return redis.call('INCR', KEYS[1])")
ceiling=$(redis-benchmark -s "$dir/redis.sock" -c 50 -n 300000 -q evalsha "$sha" 1 ceiling 2>/dev/null |
  tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
echo "ceiling: redis-benchmark -c 50 EVALSHA of a one-line script: ${ceiling%.*} requests/s"
echo

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }          # a process's own CPU
reaped() { awk '{ print $16 + $17 }' "/proc/$$/stat"; }        # this shell's finished children
echo "| workload | strategy | orders/s (median of $runs) | vs ceiling | p99 ms | Redis µs/order | floor µs/order | vs floor | batch | batches/s |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
run() { # NAME ARGS...: prints one row per strategy
  local name="$1"; shift
  local out="$dir/out"; : >"$out"
  for _ in $(seq "$runs"); do
    "$bin" bench --redis-url "$url" --strategy watch,lua --floor 16 "$@" >>"$out" 2>/dev/null
  done
  local floor
  floor=$(sed -n 's/.*, \([0-9.]*\) µs of Redis CPU per order/\1/p' "$out" | median)
  for s in watch lua; do
    # Columns of the bench table: 12 orders/s, 15 p99, 17 redis_us/op, 18 batch, 19 batches/s.
    local rows; rows=$(awk -v s="$s" '$1 == s && NF >= 19' "$out")
    local ops p99 us batch bps
    ops=$(awk '{ print $12 }' <<<"$rows" | median)
    p99=$(awk '{ print $15 }' <<<"$rows" | median)
    us=$(awk '{ print $17 }' <<<"$rows" | median)
    batch=$(awk '{ print $18 }' <<<"$rows" | median)
    bps=$(awk '{ print $19 }' <<<"$rows" | median)
    awk -v n="$name" -v s="$s" -v o="$ops" -v c="$ceiling" -v p="$p99" -v u="$us" -v f="$floor" -v b="$batch" -v r="$bps" \
      'BEGIN { printf "| %s | %s | %d | %.2fx | %s | %s | %s | %.2fx | %s | %s |\n", n, s, o, o / c, p, u, f, u / f, b, r }'
  done
}
run "hot SKU, c=50" --buyers "$buyers" --stock "$buyers" --concurrency 50
b0=$(reaped); r0=$(ticks "$redis_pid")
run "hot SKU, c=500" --buyers "$buyers" --stock "$buyers" --concurrency 500
b1=$(reaped); r1=$(ticks "$redis_pid")
run "10,000 SKUs, c=50" --buyers "$buyers" --stock 100 --skus 10000 --concurrency 50
echo
awk -v r=$((r1 - r0)) -v b=$((b1 - b0)) 'BEGIN { printf "CPU during the hot c=500 runs: redis-server %.1f s, the bench process %.1f s (%.0f%% of the two cores busy with them went to the client)\n", r / 100, b / 100, 100 * b / (r + b) }'
