#!/usr/bin/env bash
# A/B of the HTTP purchase path: a git revision against the working tree, interleaved in one
# sitting, so that a change to the take path is measured against the main it started from.
#
#   scripts/http-ab.sh REV [REV...] [--rounds 3] [--duration 8] [--connections 50]
#
# Builds each REV (in a worktree under target/ab, sharing this target dir, so only
# stockwatch itself is rebuilt; a REV that is the path of a built binary is taken as it is,
# for a build with other compiler settings) and the working tree, all in release. Then, for
# each round, and for each build in turn (the order rotates between rounds), it starts a
# fresh `serve` with its own managed Redis (default logging to a file, AOF everysec) and
# drives it with wrk: GET /healthz, then purchases of one hot SKU on watch and on lua. Each
# run reports requests/s, p50 and p99, and the CPU that the server and its Redis spent per
# request (from /proc, over wrk's window). The summary is the median of the rounds, and each
# build's server CPU per purchase as a multiple of its round's health check (issue #28's
# ratio).
set -euo pipefail
cd "$(dirname "$0")/.."

revs=()
rounds=3
duration=8
connections=50
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    -*) echo "unknown argument: $1" >&2; exit 2 ;;
    *) revs+=("$1"); shift ;;
  esac
done
[ ${#revs[@]} -gt 0 ] || { echo "usage: scripts/http-ab.sh REV [REV...] [--rounds N] [--duration S] [--connections C]" >&2; exit 2; }
scripts/ensure-packages.sh wrk:wrk curl:curl redis-server:redis-server

# shellcheck source=scripts/ab-builds.sh
source scripts/ab-builds.sh
build_revs "${revs[@]}"

ticks=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
source scripts/serving.sh

results=$(mktemp)
trap 'rm -f "$results"' EXIT
printf '%-9s %5s %-16s %10s %8s %8s %10s %9s\n' build round what "req/s" "p50 ms" "p99 ms" "server µs" "redis µs"
# one BUILD ROUND: a fresh server, three wrk runs.
one() {
  local build=$1 round=$2 dir port pid base redis_pid
  dir=$(mktemp -d)
  port=$(free_port)
  "target/ab/stockwatch-$build" serve --bind "127.0.0.1:$port" --data-dir "$dir" 2>"$dir/serve.log" &
  pid=$!
  base=http://127.0.0.1:$port
  wait_ready "$base" "$dir/serve.log"
  redis_pid=$(pgrep -P "$pid" redis-server)
  curl -fsS -X PUT -H 'Content-Type: application/json' -d '{"available": 1000000000}' \
    "$base/v1/skus/ab-hot/stock" >/dev/null
  local body='{"sku":"ab-hot","quantity":1,"user_id":"wrk"}'
  for what in healthz watch lua; do
    local method=POST path="/v1/purchases?strategy=$what" payload=$body
    [ "$what" = healthz ] && { method=GET; path=/healthz; payload=""; }
    local s0 r0 out line
    s0=$(cpu "$pid"); r0=$(cpu "$redis_pid")
    out=$(BENCH_METHOD=$method BENCH_PATH=$path BENCH_BODY=$payload BENCH_TOKEN="" \
      wrk -t2 -c"$connections" -d"${duration}s" --latency -s scripts/wrk/request.lua "$base$path")
    local s1 r1
    s1=$(cpu "$pid"); r1=$(cpu "$redis_pid")
    line=$(grep '^RESULT' <<<"$out")
    eval "local ${line#RESULT }"
    # shellcheck disable=SC2154 # requests, duration_us, p50_us, p99_us come from the eval
    awk -v b="$build" -v r="$round" -v w="$what" -v n="$requests" -v us="$duration_us" \
      -v p50="$p50_us" -v p99="$p99_us" -v s="$((s1 - s0))" -v rd="$((r1 - r0))" -v t="$ticks" 'BEGIN {
        printf "%-9s %5d %-16s %10d %8.2f %8.2f %10.1f %9.1f\n", b, r, w, n * 1e6 / us, p50 / 1000, p99 / 1000,
          s / t * 1e6 / n, rd / t * 1e6 / n }' | tee -a "$results"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
n=${#builds[@]}
for round in $(seq "$rounds"); do
  for i in $(seq 0 $((n - 1))); do one "${builds[$(((i + round - 1) % n))]}" "$round"; done
done

echo
echo "the round of median throughput, of $rounds (req/s, ratio to healthz, server and Redis CPU µs per request):"
for build in "${builds[@]}"; do
  for what in healthz watch lua; do
    awk -v b="$build" -v w="$what" '$1 == b && $3 == w { print $4, $7, $8 }' "$results" | sort -n |
      awk '{ r[NR] = $1; s[NR] = $2; d[NR] = $3 } END { m = int((NR + 1) / 2); print r[m], s[m], d[m] }'
  done | awk -v b="$build" 'NR == 1 { h = $1 } { w = NR == 1 ? "healthz" : NR == 2 ? "watch" : "lua";
    printf "%-9s %-8s %10d %6.2f %10.1f %9.1f\n", b, w, $1, $1 / h, $2, $3 }'
done

echo
echo "server CPU per request as a multiple of the same round's healthz (issue #28: at most 2), median (range) of $rounds:"
python3 - "$results" <<'EOF'
import statistics, sys
healthz, ratios = {}, {}
rows = [line.split() for line in open(sys.argv[1])]
for build, rnd, what, *_, server, _redis in rows:
    if what == "healthz":
        healthz[(build, rnd)] = float(server)
for build, rnd, what, *_, server, _redis in rows:
    if what != "healthz":
        ratios.setdefault((build, what), []).append(float(server) / healthz[(build, rnd)])
for (build, what), r in ratios.items():
    print(f"{build:<9} {what:<8} {statistics.median(r):6.2f}× ({min(r):.2f}–{max(r):.2f})")
EOF
