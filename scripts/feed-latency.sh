#!/usr/bin/env bash
# How long a committed change takes to reach a client of the live feed (`GET /v1/events`),
# at a steady rate of purchases spread over a big catalog (BENCHMARKS.md, "Growth with the
# catalog"). On a private redis-server (Unix socket, no persistence) with a release build:
#   - imports SKUS SKUs (F-0000000 on) with a stock no run can sell out;
#   - starts `serve` (default logging and metrics) and one SSE client, a Python reader of
#     `curl -N`, that notes when each `stock` event arrives;
#   - drives purchases of random SKUs with wrk (CONNECTIONS connections, each pausing
#     DELAY_MS between requests: about CONNECTIONS × 1000 / (DELAY_MS + its latency) a second);
#   - prints the rate reached and the delay from `committed_at` (the committing process's
#     clock, epoch ms, truncated to the ms: the figures read up to 1 ms high) to arrival:
#     p50, p90, p99 and max, in ms.
#
#   scripts/feed-latency.sh [SKUS=100000] [DURATION_S=20] [CONNECTIONS=50] [DELAY_MS=4]
set -euo pipefail
cd "$(dirname "$0")/.."
skus=${1:-100000}
duration=${2:-20}
connections=${3:-50}
delay_ms=${4:-4}
scripts/ensure-packages.sh redis-server:redis-server redis-cli:redis-tools curl:curl wrk:wrk
cargo build --release -q
bin=$(pwd)/target/release/stockwatch
server=""
reader=""
# shellcheck source=scripts/private-redis.sh
. scripts/private-redis.sh
on_exit='[ -z "$reader" ] || kill "$reader" 2>/dev/null; [ -z "$server" ] || kill "$server" 2>/dev/null'
python3 -c "
import sys
with open('$dir/rows.ndjson', 'w') as f:
    for i in range($skus):
        f.write('{\"sku\":\"F-%07d\",\"available\":1000000000}\n' % i)
"
"$bin" import --redis-url "$url" "$dir/rows.ndjson" >/dev/null 2>&1
port=$((20000 + RANDOM % 20000))
"$bin" serve --bind "127.0.0.1:$port" --redis-url "$url" >"$dir/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -fsS "127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
python3 - "127.0.0.1:$port" "$((duration + 3))" >"$dir/latency.txt" <<'PY' &
import json, subprocess, sys, time
address, seconds = sys.argv[1], float(sys.argv[2])
feed = subprocess.Popen(["curl", "-sN", f"http://{address}/v1/events"], stdout=subprocess.PIPE)
delays, end = [], time.time() + seconds
for line in iter(feed.stdout.readline, b""):
    arrived = time.time() * 1000
    if line.startswith(b"data:") and b'"committed_at"' in line:
        event = json.loads(line[5:])
        if event.get("kind") == "purchase":
            delays.append(arrived - event["committed_at"])
    if arrived / 1000 > end:
        break
feed.kill()
delays.sort()
at = lambda q: delays[min(len(delays) - 1, int(len(delays) * q))]
print(f"{len(delays)} {at(0.5):.1f} {at(0.9):.1f} {at(0.99):.1f} {delays[-1]:.1f}" if delays else "0 - - - -")
PY
reader=$!
sleep 1
result=$(FEED_SKUS=$skus FEED_DELAY_MS=$delay_ms wrk -t2 -c"$connections" -d"${duration}s" \
  -s scripts/wrk/random-purchase.lua "http://127.0.0.1:$port" | grep '^RESULT')
wait "$reader" || true
reader=""
read -r events p50 p90 p99 max <"$dir/latency.txt"
requests=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$result")
non2xx=$(sed -n 's/.*non2xx=\([0-9]*\).*/\1/p' <<<"$result")
echo "| SKUs | purchases/s | non-2xx | events received | feed delay p50 / p90 / p99 / max ms |"
echo "|---:|---:|---:|---:|---|"
echo "| $skus | $((requests / duration)) | $non2xx | $events | $p50 / $p90 / $p99 / $max |"
