#!/usr/bin/env bash
# The import rate, A/B: `stockwatch import` of the same NDJSON file by each REV given and by
# the working tree, interleaved round by round, each into an emptied private redis-server
# (default configuration, no persistence, Unix socket; release builds). Per run: rows/s,
# the client's CPU µs a row (user + system of `stockwatch import`) and Redis's (from
# /proc), and beside them, once a round, `redis-cli --pipe` loading the same rows as plain
# HSETs (the ceiling BENCHMARKS.md compares with).
#
#   scripts/import-ab.sh 69ca064                     # 100,000 rows, 3 rounds
#   scripts/import-ab.sh 69ca064 --rows 1000000 --rounds 2
#   RULED_EVERY=1 scripts/import-ab.sh 69ca064       # every row with a threshold (default: a tenth)
set -euo pipefail
cd "$(dirname "$0")/.."
revs=()
rounds=3
rows=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --rows) rows="$2"; shift 2 ;;
    -*) echo "unknown argument: $1" >&2; exit 2 ;;
    *) revs+=("$1"); shift ;;
  esac
done
scripts/ensure-packages.sh redis-server:redis-server redis-cli:redis-tools
# shellcheck source=scripts/ab-builds.sh
source scripts/ab-builds.sh
build_revs "${revs[@]}"
# shellcheck source=scripts/private-redis.sh
source scripts/private-redis.sh
python3 scripts/catalog-rows.py "$rows" "$dir" "${RULED_EVERY:-10}"
redis_ticks() { awk '{ print $14 + $15 }' "/proc/$redis_pid/stat"; }
hz=$(getconf CLK_TCK)
TIMEFORMAT='%U %S'
printf '%-10s %5s %10s %10s %10s\n' build round "rows/s" "client µs" "redis µs"
for round in $(seq "$rounds"); do
  cli flushall >/dev/null
  start=$(date +%s.%N)
  cli --pipe <"$dir/pipe.txt" >/dev/null
  end=$(date +%s.%N)
  awk -v b=redis-cli -v r="$round" -v n="$rows" -v a="$start" -v z="$end" \
    'BEGIN { printf "%-10s %5s %10d %10s %10s\n", b, r, n / (z - a), "-", "-" }'
  for build in "${builds[@]}"; do
    cli flushall >/dev/null
    before=$(redis_ticks)
    start=$(date +%s.%N)
    cpu=$({ time "target/ab/stockwatch-$build" import --redis-url "$url" "$dir/rows.ndjson" >/dev/null 2>&1; } 2>&1)
    end=$(date +%s.%N)
    after=$(redis_ticks)
    [ "$(cli dbsize)" -ge "$rows" ] || { echo "$build imported too few keys" >&2; exit 1; }
    read -r user sys <<<"$cpu"
    awk -v b="$build" -v r="$round" -v n="$rows" -v a="$start" -v z="$end" -v u="$user" -v s="$sys" \
      -v t=$((after - before)) -v hz="$hz" \
      'BEGIN { printf "%-10s %5s %10d %10.1f %10.1f\n", b, r, n / (z - a), (u + s) * 1e6 / n, t / hz * 1e6 / n }'
  done
done
