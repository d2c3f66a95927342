#!/usr/bin/env bash
# How stockwatch grows with the catalog (BENCHMARKS.md, "Growth with the catalog"), on a
# private redis-server (default configuration, no persistence) with a release build. For
# each catalog size N:
#   - the ceiling: the same rows as plain HSETs through `redis-cli --pipe`;
#   - `stockwatch import` of an NDJSON file of N rows (a tenth with alert rules, or one in RULED_EVERY): rows/s;
#   - Redis memory per SKU after it (`used_memory`, less the empty server's);
#   - `stockwatch export`: rows/s (and that it wrote N rows);
#   - `stockwatch verify`: seconds and peak RSS;
#   - over HTTP against `serve`: `POST /v1/skus/import` of the same file (in bodies of a
#     million rows) into a second prefix (rows/s), `GET /v1/skus?limit=100` from random
#     cursors and `GET /v1/alerts/low-stock?limit=100` (ms p50/p99);
#   - flat purchases (lua, 20,000 buyers over 10,000 other SKUs) beside the catalog: orders/s.
#
#   scripts/catalog-growth.sh                 # N = 10,000, 100,000 and 1,000,000 (some minutes)
#   scripts/catalog-growth.sh 10000 100000    # the sizes given
#   RULED_EVERY=1 scripts/catalog-growth.sh 1000000   # every SKU with a threshold (default: a tenth)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
scripts/ensure-packages.sh redis-server:redis-server redis-cli:redis-tools curl:curl /usr/bin/time:time
cargo build --release -q
bin=$(pwd)/target/release/stockwatch
server=""
# shellcheck source=scripts/private-redis.sh
. scripts/private-redis.sh
on_exit='[ -z "$server" ] || kill "$server" 2>/dev/null'
work="$dir/work"
mkdir -p "$work"
used() { cli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%d", n / (b - a) }'; }
# percentiles FILE: "p50 / p99" of the numbers in FILE, in ms.
percentiles() {
  sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.1f / %.1f", v[int(NR * 0.5) + 1] * 1000, v[int(NR * 0.99) + 1] * 1000 }'
}

echo "| SKUs | Redis bytes/SKU | redis-cli --pipe rows/s | import rows/s (file) | import rows/s (HTTP) | export rows/s | verify s | verify RSS MB | list p50/p99 ms | low-stock p50/p99 ms | flat lua orders/s |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|"
for n in "${sizes[@]}"; do
  cli flushall >/dev/null
  python3 scripts/catalog-rows.py "$n" "$work" "${RULED_EVERY:-10}"
  start=$(date +%s.%N)
  cli --pipe <"$work/pipe.txt" >/dev/null
  end=$(date +%s.%N)
  pipe_rate=$(rate "$n" "$start" "$end")
  cli flushall >/dev/null
  empty=$(used)
  start=$(date +%s.%N)
  "$bin" import --redis-url "$url" "$work/rows.ndjson" >/dev/null 2>&1
  end=$(date +%s.%N)
  import_rate=$(rate "$n" "$start" "$end")
  per_sku=$(( ($(used) - empty) / n ))
  start=$(date +%s.%N)
  exported=$("$bin" export --redis-url "$url" 2>/dev/null | wc -l)
  end=$(date +%s.%N)
  [ "$exported" -eq "$n" ] || { echo "export wrote $exported rows, not $n" >&2; exit 1; }
  export_rate=$(rate "$n" "$start" "$end")
  out=$( { /usr/bin/time -f "TIME %e %M" "$bin" verify --redis-url "$url" >/dev/null; } 2>&1 )
  read -r _ verify_s verify_kb <<<"$(grep '^TIME' <<<"$out")"

  port=$((20000 + RANDOM % 20000))
  "$bin" serve --bind "127.0.0.1:$port" --redis-url "$url" --expiry-worker off >/dev/null 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -fsS "127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  "$bin" serve --bind "127.0.0.1:$((port + 1))" --redis-url "$url" --key-prefix http \
    --expiry-worker off >/dev/null 2>&1 &
  second=$!
  for _ in $(seq 100); do curl -fsS "127.0.0.1:$((port + 1))/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  # Bodies of at most a million rows (about 40 MB), under the endpoint's 64 MiB.
  rm -f "$work"/part-*
  split -l 1000000 -d -a 3 "$work/rows.ndjson" "$work/part-"
  start=$(date +%s.%N)
  for part in "$work"/part-*; do
    curl -fsS "127.0.0.1:$((port + 1))/v1/skus/import" -H 'Content-Type: application/x-ndjson' \
      --data-binary @"$part" >/dev/null
  done
  end=$(date +%s.%N)
  http_rate=$(rate "$n" "$start" "$end")
  kill "$second"; wait "$second" 2>/dev/null || true
  : >"$work/list.txt"
  for _ in $(seq 200); do
    after=$(printf 'SKU-%07d' $((RANDOM * 32768 % n + RANDOM % n)))
    curl -fsS -o /dev/null -w '%{time_total}\n' "127.0.0.1:$port/v1/skus?limit=100&after=$after" >>"$work/list.txt"
  done
  : >"$work/low.txt"
  for _ in $(seq 20); do
    curl -fsS -o /dev/null -w '%{time_total}\n' "127.0.0.1:$port/v1/alerts/low-stock?limit=100" >>"$work/low.txt"
  done
  kill "$server"; wait "$server" 2>/dev/null || true
  server=""
  flat=$("$bin" bench --redis-url "$url" --strategy lua --buyers 20000 --concurrency 50 \
    --stock 10 --skus 10000 2>/dev/null | awk '$1 == "lua" && NF > 12 { print $12 }')
  echo "| $n | $per_sku | $pipe_rate | $import_rate | $http_rate | $export_rate | $verify_s | $((verify_kb / 1024)) | $(percentiles "$work/list.txt") | $(percentiles "$work/low.txt") | $flat |"
done
