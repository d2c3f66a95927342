#!/usr/bin/env bash
# What a purchase costs Redis, counted in instructions instead of timed: the count does not
# move with the machine's noise, so builds a few percent apart can be told apart in one run.
#
#   scripts/redis-instructions.sh BINARY... [--strategy lua|watch] [--skus 1000]
#
# For each binary, runs `BINARY bench --strategy S --skus N --concurrency 50` twice (4,000 and
# 8,000 buyers) against a redis-server under valgrind's callgrind, and prints the difference
# per buyer: what one more purchase costs inside EVAL/EVALSHA (the take script with the
# commands it calls) and in the whole server. The setup both runs share cancels out.
# Callgrind counts user-space instructions only: the kernel's share (socket reads and writes)
# is not in it. Binaries of any age work: only `bench` and its flags are used.
set -euo pipefail
cd "$(dirname "$0")/.."
bins=() strategy=lua skus=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --strategy) strategy="$2"; shift 2 ;;
    --skus) skus="$2"; shift 2 ;;
    -*) echo "unknown argument: $1" >&2; exit 2 ;;
    *) bins+=("$1"); shift ;;
  esac
done
[ ${#bins[@]} -gt 0 ] || { sed -n '2,13p' "$0"; exit 2; }
scripts/ensure-packages.sh redis-server:redis-server redis-cli:redis-tools valgrind:valgrind
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# instructions BIN BUYERS TOGGLE: the callgrind total of one bench run ("" = whole server).
instructions() {
  local bin="$1" buyers="$2" toggle="$3" dir pid
  dir=$(mktemp -d -p "$work")
  valgrind --tool=callgrind ${toggle:+--toggle-collect=$toggle} --callgrind-out-file="$dir/out" \
    redis-server --port 0 --unixsocket "$dir/redis.sock" --save "" --appendonly no >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 150); do redis-cli -s "$dir/redis.sock" ping >/dev/null 2>&1 && break; sleep 0.2; done
  "$bin" bench --strategy "$strategy" --buyers "$buyers" --stock 100000 --skus "$skus" \
    --concurrency 50 --redis-url "unix://$dir/redis.sock" >"$dir/bench.log" 2>&1 ||
    { echo "bench failed: $(tail -3 "$dir/bench.log")" >&2; exit 1; }
  redis-cli -s "$dir/redis.sock" shutdown nosave >/dev/null 2>&1 || true
  wait "$pid" || true
  awk '/^(summary|totals):/ { print $2; exit }' "$dir/out"
}

printf '%-40s %14s %14s\n' "binary ($strategy, $skus SKUs)" "in the script" "whole server"
for bin in "${bins[@]}"; do
  row=()
  for toggle in evalGenericCommand ""; do
    a=$(instructions "$bin" 4000 "$toggle")
    b=$(instructions "$bin" 8000 "$toggle")
    row+=($(((b - a) / 4000)))
  done
  printf '%-40s %14s %14s\n' "$bin" "${row[0]}" "${row[1]}"
done
echo "(instructions per purchase)"
