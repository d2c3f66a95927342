#!/usr/bin/env bash
# What the HTTP tier sustains, and what each request costs in CPU, against `GET /healthz` on
# the same server, driven by Debian's `wrk` (installed if missing):
#
#   scripts/http-bench.sh [--binary target/release/stockwatch] [--duration 10]
#                         [--connections 50] [--threads 2] [--library] [-- SERVE ARGS...]
#   scripts/http-bench.sh --url http://127.0.0.1:8080 [--token T]   # a server already running
#
# By default it starts `BINARY serve` on a free port with its managed Redis (default logging
# to a file, metrics on, AOF everysec), so it knows both processes and reports the CPU split:
# the CPU time that the server, its Redis and wrk each spent per request, read from /proc
# (and from the shell's child times for wrk) over each run. Against `--url` it reports
# throughput and latency only.
#
# The runs: healthz (the ceiling of the HTTP tier itself), purchases of one hot SKU, carts of
# three SKUs and holds of the same three, each on watch and lua. Each run sets stock that it
# cannot sell out (a refusal is cheaper than a sale and would flatter the figure); non-2xx
# answers are counted. The summary gives each run's throughput and server CPU as ratios to
# healthz (issue #28's targets: a purchase's server CPU at most 2× a health check's, a cart's
# or a hold's at most 3×). `--library` also runs `stockwatch bench` on the same workloads
# against the same Redis, so Redis's CPU per order over HTTP can be set against the library's.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=target/release/stockwatch
url=""
duration=10
connections=50
threads=2
library=no
token="${STOCKWATCH_ADMIN_TOKEN:-}"
serve_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --url) url="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --token) token="$2"; shift 2 ;;
    --library) library=yes; shift ;;
    --) shift; serve_args=("$@"); break ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done

scripts/ensure-packages.sh wrk:wrk curl:curl redis-server:redis-server
server_pid="" redis_pid="" dir=""
if [ -z "$url" ]; then
  [ -x "$binary" ] || cargo build -q --release --bin stockwatch
  dir=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$binary" serve --bind "127.0.0.1:$port" --data-dir "$dir" "${serve_args[@]}" 2>"$dir/serve.log" &
  server_pid=$!
  trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; rm -rf "$dir"' EXIT
  url="http://127.0.0.1:$port"
  for _ in $(seq 300); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.1; done
  redis_pid=$(pgrep -P "$server_pid" redis-server || true)
fi
if ! curl -fsS "$url/healthz" >/dev/null; then
  echo "no stockwatch server answers at $url (start one with scripts/serve.sh)" >&2
  exit 1
fi

ticks=$(getconf CLK_TCK)
cpu_of() { if [ -n "$1" ]; then awk '{ print $14 + $15 }' "/proc/$1/stat"; else echo 0; fi; }
# The CPU seconds (user + system) of this shell's finished children (wrk), from `times`,
# which must run in this shell, not in a subshell of its own.
times_file=$(mktemp)
children_cpu() {
  times >"$times_file"
  awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] } print s }' "$times_file"
}
auth=()
[ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
set_stock() {
  curl -fsS -X PUT "${auth[@]}" -H 'Content-Type: application/json' \
    -d '{"available": 1000000000}' "$url/v1/skus/$1/stock" >/dev/null
}

declare -A rate server
results=$(mktemp)
printf '%-18s %10s %7s %7s %7s %7s %10s %9s %8s\n' "what" "req/s" "p50 ms" "p90 ms" "p99 ms" "non-2xx" \
  "server µs" "redis µs" "wrk µs"
# run NAME METHOD PATH BODY: one wrk run, one row.
run() {
  local name="$1" out line s0 r0 w0 s1 r1 w1
  s0=$(cpu_of "$server_pid"); r0=$(cpu_of "$redis_pid"); children_cpu >"$times_file.0"
  out=$(BENCH_METHOD="$2" BENCH_PATH="$3" BENCH_BODY="$4" BENCH_TOKEN="$token" \
    wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s scripts/wrk/request.lua "$url$3")
  s1=$(cpu_of "$server_pid"); r1=$(cpu_of "$redis_pid"); children_cpu >"$times_file.1"
  w0=$(cat "$times_file.0"); w1=$(cat "$times_file.1")
  line=$(grep '^RESULT' <<<"$out")
  eval "local ${line#RESULT }"
  # shellcheck disable=SC2154 # requests, duration_us, p50_us... come from the eval above
  awk -v n="$name" -v q="$requests" -v us="$duration_us" -v a="$p50_us" -v b="$p90_us" -v c="$p99_us" \
    -v e="$((non2xx + socket_errors))" -v s="$((s1 - s0))" -v r="$((r1 - r0))" -v w="$(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }')" \
    -v t="$ticks" -v known="${server_pid:+yes}" 'BEGIN {
      cpu = known == "yes" ? sprintf("%10.1f %9.1f %8.1f", s / t * 1e6 / q, r / t * 1e6 / q, w * 1e6 / q) : sprintf("%10s %9s %8s", "-", "-", "-")
      printf "%-18s %10d %7.2f %7.2f %7.2f %7d %s\n", n, q * 1e6 / us, a / 1000, b / 1000, c / 1000, e, cpu }' | tee -a "$results"
}

prefix="bench$(date +%s)"
hot="$prefix-hot"
cart=("$prefix-a" "$prefix-b" "$prefix-c")
purchase="{\"sku\":\"$hot\",\"quantity\":1,\"user_id\":\"wrk\"}"
items=$(printf '{"sku":"%s","quantity":1},' "${cart[@]}")
checkout="{\"user_id\":\"wrk\",\"items\":[${items%,}]}"
hold="{\"user_id\":\"wrk\",\"items\":[${items%,}],\"ttl_seconds\":3600}"

run "healthz" GET /healthz ""
for strategy in watch lua; do
  set_stock "$hot"
  run "purchase $strategy" POST "/v1/purchases?strategy=$strategy" "$purchase"
done
for strategy in watch lua; do
  for sku in "${cart[@]}"; do set_stock "$sku"; done
  run "checkout(3) $strategy" POST "/v1/checkouts?strategy=$strategy" "$checkout"
done
for strategy in watch lua; do
  for sku in "${cart[@]}"; do set_stock "$sku"; done
  run "hold(3) $strategy" POST "/v1/reservations?strategy=$strategy" "$hold"
done

echo
echo "against healthz (throughput ratio; server CPU per request as a multiple of healthz's, target in brackets):"
awk 'NR == 1 { h = $2; hs = $(NF - 2) }
  { name = $1 " " $2; rps = $3; s = $(NF - 2); if ($1 == "healthz") { name = $1; rps = $2 } }
  NR > 1 { target = ($1 == "purchase") ? "≤ 2" : "≤ 3"
    if (hs == "-") printf "  %-18s %5.2f\n", name, rps / h
    else printf "  %-18s %5.2f   %5.2f× (%s)\n", name, rps / h, s / hs, target }' "$results"
rm -f "$results" "$times_file" "$times_file".[01]

if [ "$library" = yes ]; then
  [ -n "$dir" ] || { echo "--library needs the server this script starts" >&2; exit 2; }
  # A Redis of its own, configured as the managed one (AOF, fsync every second), so that
  # the closing checks of `bench` do not walk the HTTP runs' orders.
  mkdir "$dir/lib"
  redis-server --port 0 --unixsocket "$dir/lib/redis.sock" --save "" --appendonly yes \
    --appendfsync everysec --dir "$dir/lib" --daemonize yes --pidfile "$dir/lib/redis.pid" \
    --logfile "$dir/lib/redis.log"
  for _ in $(seq 50); do [ -S "$dir/lib/redis.sock" ] && [ -s "$dir/lib/redis.pid" ] && break; sleep 0.1; done
  lib_pid=$(cat "$dir/lib/redis.pid")
  trap 'kill "$server_pid" "$lib_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; rm -rf "$dir"' EXIT
  echo
  echo "the library (stockwatch bench, concurrency $connections), on a Redis configured as the server's:"
  printf '%-18s %10s %9s %9s\n' "what" "orders/s" "client µs" "redis µs"
  TIMEFORMAT='%U %S'
  buyers=100000
  for op in purchase checkout reserve; do
    for strategy in watch lua; do
      shape=(--skus 1)
      [ "$op" = purchase ] || shape=(--skus 3 --cart-size 3 --distribution uniform)
      redis-cli -s "$dir/lib/redis.sock" FLUSHALL >/dev/null
      r0=$(cpu_of "$lib_pid")
      c=$({ time "$binary" bench --op "$op" --strategy "$strategy" --buyers "$buyers" --stock "$((buyers * 4))" \
        "${shape[@]}" --concurrency "$connections" --json \
        --redis-url "unix://$dir/lib/redis.sock" >"$dir/bench.json" 2>/dev/null; } 2>&1)
      r1=$(cpu_of "$lib_pid")
      python3 - "$dir/bench.json" "$c" "$buyers" "$((r1 - r0))" "$ticks" "$op $strategy" <<'EOF'
import json, sys
out, cpu, buyers, redis, hz, what = sys.argv[1:]
r = json.load(open(out))["results"][0]
client = sum(map(float, cpu.split())) * 1e6 / int(buyers)
print(f"{what:<18} {r['orders_per_s']:>10.0f} {client:>9.1f} {int(redis) / int(hz) * 1e6 / int(buyers):>9.1f}")
EOF
    done
  done
fi
