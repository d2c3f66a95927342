#!/usr/bin/env bash
# What the HTTP tier sustains, and what each request costs in CPU, against `GET /healthz` on
# the same server, driven by Debian's `wrk` (installed if missing):
#
#   scripts/http-bench.sh [--binary target/release/stockwatch] [--duration 10] [--rounds 1]
#                         [--connections 50] [--threads 2] [--library] [-- SERVE ARGS...]
#   scripts/http-bench.sh --url http://127.0.0.1:8080 [--token T]   # a server already running
#
# By default it starts `BINARY serve` on a free port with its managed Redis (default logging
# to a file, metrics on, AOF everysec), so it knows both processes and reports the CPU split:
# the CPU time that the server, its Redis and wrk each spent per request, read from /proc
# (and from the shell's child times for wrk) over each run. Against `--url` it reports
# throughput and latency only.
#
# Two more columns say why a row costs what it does: `batch`, the takes per group commit over
# the run (from /metrics: a batch's Redis round trips are shared by its buyers), and
# `sleeps`, how often per request the server's threads went idle and had to be woken
# (voluntary context switches, from /proc: a wake-up costs about as much as a small request).
#
# A round: healthz (the ceiling of the HTTP tier itself), purchases of one hot SKU, carts of
# three SKUs and holds of the same three, each on watch and lua, then healthz again. Each run
# sets stock that it cannot sell out (a refusal is cheaper than a sale and would flatter the
# figure); non-2xx answers are counted. The summary gives each run's throughput and server
# CPU as ratios to the mean of its round's two healthz runs (issue #28's targets: a
# purchase's server CPU at most 2× a health check's, a cart's or a hold's at most 3×).
# On two shared cores one run can be off by a third, so `--rounds N` repeats the round, each
# on a fresh server and Redis (no round inherits another's keys or AOF), and the summary
# gives each ratio's median and range over the rounds. `--library` also runs `stockwatch
# bench` on the same workloads against a Redis configured as the server's, so Redis's CPU per
# order over HTTP can be set against the library's.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/serving.sh

binary=target/release/stockwatch
url=""
duration=10
rounds=1
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
    --rounds) rounds="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --token) token="$2"; shift 2 ;;
    --library) library=yes; shift ;;
    --) shift; serve_args=("$@"); break ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done

scripts/ensure-packages.sh wrk:wrk curl:curl redis-server:redis-server
[ -n "$url" ] || [ -x "$binary" ] || cargo build -q --release --bin stockwatch
own_server=no
[ -z "$url" ] && own_server=yes
server_pid="" redis_pid="" dir="" lib_pid=""
cleanup() {
  [ -n "$server_pid" ] && { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; }
  [ -n "$lib_pid" ] && kill "$lib_pid" 2>/dev/null
  [ -n "$dir" ] && rm -rf "$dir"
  rm -f "${results:-}" "${times_file:-}" "${times_file:-}".[01]
}
trap cleanup EXIT
# A fresh `serve` with its managed Redis, in a new data dir.
start_server() {
  local port
  dir=$(mktemp -d)
  port=$(free_port)
  "$binary" serve --bind "127.0.0.1:$port" --data-dir "$dir" "${serve_args[@]}" 2>"$dir/serve.log" &
  server_pid=$!
  url="http://127.0.0.1:$port"
  wait_ready "$url" "$dir/serve.log"
  redis_pid=$(pgrep -P "$server_pid" redis-server || true)
}
stop_server() {
  kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true
  server_pid=""
  rm -rf "$dir"; dir=""
}
[ "$own_server" = yes ] && start_server
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

# Takes and group commits so far, summed over strategies ("sum count"), from /metrics.
commits_of() {
  curl -fsS "${auth[@]}" "$url/metrics" 2>/dev/null |
    awk '/^stockwatch_group_commit_batch_size_sum/ { s += $2 } /^stockwatch_group_commit_batch_size_count/ { c += $2 }
      END { print s + 0, c + 0 }'
}
# Times the server's threads went to sleep so far (voluntary context switches), or 0.
sleeps_of() {
  if [ -n "$1" ]; then cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ { n += $2 } END { print n + 0 }'; else echo 0; fi
}

results=$(mktemp)
header() {
  printf '%-18s %10s %7s %7s %7s %7s %10s %9s %8s %6s %7s\n' "what" "req/s" "p50 ms" "p90 ms" "p99 ms" "non-2xx" \
    "server µs" "redis µs" "wrk µs" "batch" "sleeps"
}
# run NAME METHOD PATH BODY: one wrk run, one row (and, for the summary, a line of
# round, name, req/s and server µs in $results).
run() {
  local name="$1" out line s0 r0 w0 s1 r1 w1 c0 c1 z0 z1
  c0=$(commits_of); z0=$(sleeps_of "$server_pid")
  s0=$(cpu_of "$server_pid"); r0=$(cpu_of "$redis_pid"); children_cpu >"$times_file.0"
  out=$(BENCH_METHOD="$2" BENCH_PATH="$3" BENCH_BODY="$4" BENCH_TOKEN="$token" \
    wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s scripts/wrk/request.lua "$url$3")
  s1=$(cpu_of "$server_pid"); r1=$(cpu_of "$redis_pid"); children_cpu >"$times_file.1"
  z1=$(sleeps_of "$server_pid"); c1=$(commits_of)
  w0=$(cat "$times_file.0"); w1=$(cat "$times_file.1")
  line=$(grep '^RESULT' <<<"$out")
  eval "local ${line#RESULT }"
  # shellcheck disable=SC2154 # requests, duration_us, p50_us... come from the eval above
  awk -v n="$name" -v q="$requests" -v us="$duration_us" -v a="$p50_us" -v b="$p90_us" -v c="$p99_us" \
    -v e="$((non2xx + socket_errors))" -v s="$((s1 - s0))" -v r="$((r1 - r0))" -v w="$(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }')" \
    -v t="$ticks" -v known="${server_pid:+yes}" -v round="$round" -v out="$results" \
    -v c0="$c0" -v c1="$c1" -v z="$((z1 - z0))" 'BEGIN {
      cpu = known == "yes" ? sprintf("%10.1f %9.1f %8.1f", s / t * 1e6 / q, r / t * 1e6 / q, w * 1e6 / q) : sprintf("%10s %9s %8s", "-", "-", "-")
      split(c0, x, " "); split(c1, y, " ")
      batch = y[2] > x[2] ? sprintf("%6.1f", (y[1] - x[1]) / (y[2] - x[2])) : sprintf("%6s", "-")
      sleeps = known == "yes" ? sprintf("%7.3f", z / q) : sprintf("%7s", "-")
      printf "%-18s %10d %7.2f %7.2f %7.2f %7d %s %s %s\n", n, q * 1e6 / us, a / 1000, b / 1000, c / 1000, e, cpu, batch, sleeps
      printf "%d\t%s\t%f\t%s\n", round, n, q * 1e6 / us, known == "yes" ? s / t * 1e6 / q : "-" >> out }'
}

prefix="bench$(date +%s)"
hot="$prefix-hot"
cart=("$prefix-a" "$prefix-b" "$prefix-c")
purchase="{\"sku\":\"$hot\",\"quantity\":1,\"user_id\":\"wrk\"}"
items=$(printf '{"sku":"%s","quantity":1},' "${cart[@]}")
checkout="{\"user_id\":\"wrk\",\"items\":[${items%,}]}"
hold="{\"user_id\":\"wrk\",\"items\":[${items%,}],\"ttl_seconds\":3600}"

for round in $(seq "$rounds"); do
  if [ "$round" -gt 1 ]; then
    echo
    [ "$own_server" = yes ] && { stop_server; start_server; }
  fi
  [ "$rounds" -gt 1 ] && echo "round $round of $rounds"
  # A second of health checks first, not counted: a fresh server's first connections and
  # allocations would otherwise weigh on the first healthz run (18.9 µs against 13–14 µs
  # for every later one in one sitting).
  wrk -t"$threads" -c"$connections" -d1s "$url/healthz" >/dev/null
  header
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
  run "healthz" GET /healthz ""
done

echo
if [ "$rounds" -eq 1 ]; then
  echo "against healthz (throughput ratio; server CPU per request as a multiple of healthz's, the"
  echo "mean of the round's two runs; target in brackets):"
else
  echo "against healthz, over $rounds rounds: median (range) of the throughput ratio and of server CPU"
  echo "per request as a multiple of healthz's (the mean of the same round's two runs); target in brackets:"
fi
# Ratios per round against that round's healthz, then each row's median and range.
awk -F'\t' '{ row[NR] = $0 }
  $2 == "healthz" { hn[$1]++; hr[$1] += $3; hs[$1] += $4 }
  END {
    for (i = 1; i <= NR; i++) {
      split(row[i], f, "\t")
      if (f[2] == "healthz") continue
      cpu = (f[4] == "-") ? "-" : f[4] / (hs[f[1]] / hn[f[1]])
      printf "%s\t%f\t%s\n", f[2], f[3] / (hr[f[1]] / hn[f[1]]), cpu
    }
  }' "$results" | python3 -c '
import sys, statistics
rows = {}
for line in sys.stdin:
    name, rate, cpu = line.rstrip("\n").split("\t")
    rows.setdefault(name, []).append((float(rate), None if cpu == "-" else float(cpu)))
for name, runs in rows.items():
    target = "≤ 2" if name.startswith("purchase") else "≤ 3"
    def show(xs, unit=""):
        med = f"{statistics.median(xs):.2f}{unit}"
        return med if len(xs) == 1 else f"{med} ({min(xs):.2f}–{max(xs):.2f})"
    rates = show([r for r, _ in runs])
    cpus = [c for _, c in runs if c is not None]
    cpu = show(cpus, "×") + " [" + target + "]" if cpus else ""
    print(f"  {name:<18} {rates:<18} {cpu}")
'

if [ "$library" = yes ]; then
  [ "$own_server" = yes ] || { echo "--library needs the server this script starts" >&2; exit 2; }
  # A Redis of its own, configured as the managed one (AOF, fsync every second), so that
  # the closing checks of `bench` do not walk the HTTP runs' orders.
  mkdir "$dir/lib"
  redis-server --port 0 --unixsocket "$dir/lib/redis.sock" --save "" --appendonly yes \
    --appendfsync everysec --dir "$dir/lib" --daemonize yes --pidfile "$dir/lib/redis.pid" \
    --logfile "$dir/lib/redis.log"
  for _ in $(seq 50); do [ -S "$dir/lib/redis.sock" ] && [ -s "$dir/lib/redis.pid" ] && break; sleep 0.1; done
  lib_pid=$(cat "$dir/lib/redis.pid")
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
