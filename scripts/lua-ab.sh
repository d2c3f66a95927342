#!/usr/bin/env bash
# What the take script costs Redis, build against build, where the noise is smallest: inside
# one quiet redis-server, with nothing else running on it.
#
#   scripts/lua-ab.sh BINARY_A BINARY_B [--op purchase|hold] [--calls 2000] [--buyers 10]
#
# For each binary it starts `BINARY serve` (its managed Redis) and keeps, from MONITOR, the
# take script it loads; the first is put under wrk's load for two seconds (`--op purchase`:
# one SKU; `hold`: three-line holds), and one of its batches of about `--buyers` buyers is
# kept. Then both scripts are loaded into a fresh redis-server and that batch is replayed
# `--calls` times through each, in alternating blocks, with Redis's own time in the script
# (INFO commandstats, its commands included) read around each block. The two builds must
# share the script's argument layout (crates/ops/src/take/lua_layout.rs); a script refuses
# a batch it cannot read.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,14p' "$0"; exit 2; }
a="$1" b="$2"; shift 2
op=purchase calls=2000 buyers=10
while [ $# -gt 0 ]; do
  case "$1" in
    --op) op="$2"; shift 2 ;;
    --calls) calls="$2"; shift 2 ;;
    --buyers) buyers="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
scripts/ensure-packages.sh wrk:wrk curl:curl redis-server:redis-server redis-cli:redis-tools
work=$(mktemp -d)
server_pid="" quiet=""
cleanup() {
  [ -n "$server_pid" ] && { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; }
  [ -n "$quiet" ] && redis-cli -s "$work/quiet.sock" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
source scripts/serving.sh
capture() { # BINARY NAME SECONDS: the binary's script (and, under SECONDS of load, batches) in $work/NAME.monitor
  local port url body path
  port=$(free_port); url="http://127.0.0.1:$port"
  "$1" serve --bind "127.0.0.1:$port" --data-dir "$work/$2" 2>"$work/$2.log" &
  server_pid=$!
  wait_ready "$url" "$work/$2.log"
  for sku in lua-ab-a lua-ab-b lua-ab-c; do
    curl -fsS -X PUT -H 'Content-Type: application/json' -d '{"available": 1000000000}' "$url/v1/skus/$sku/stock" >/dev/null
  done
  if [ "$op" = hold ]; then
    path=/v1/reservations
    body='{"user_id":"wrk","ttl_seconds":3600,"items":[{"sku":"lua-ab-a","quantity":1},{"sku":"lua-ab-b","quantity":1},{"sku":"lua-ab-c","quantity":1}]}'
  else
    path=/v1/purchases
    body='{"sku":"lua-ab-a","quantity":1,"user_id":"wrk"}'
  fi
  redis-cli -s "$work/$2/redis.sock" monitor >"$work/$2.monitor" &
  local monitor=$!
  # MONITOR answers OK once it listens; the script is loaded by the first take after that.
  for _ in $(seq 50); do [ -s "$work/$2.monitor" ] && break; sleep 0.1; done
  if [ "$3" -gt 0 ]; then
    BENCH_METHOD=POST BENCH_PATH="$path?strategy=lua" BENCH_BODY="$body" \
      wrk -t2 -c50 -d"$3"s -s scripts/wrk/request.lua "$url$path" >/dev/null
  else # one take loads the script
    curl -fsS -X POST -H 'Content-Type: application/json' -d "$body" "$url$path?strategy=lua" >/dev/null
  fi
  sleep 0.5
  kill "$monitor"; wait "$monitor" 2>/dev/null || true
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
capture "$a" a 2
capture "$b" b 0
redis-server --port 0 --unixsocket "$work/quiet.sock" --save "" --appendonly no --daemonize yes \
  --dir "$work" --logfile "$work/quiet.log" --pidfile "$work/quiet.pid" >/dev/null
quiet=yes
for _ in $(seq 50); do [ -S "$work/quiet.sock" ] && break; sleep 0.1; done
python3 scripts/lua_ab.py "$work" "$calls" "$buyers" "$a" "$b"
