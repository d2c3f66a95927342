#!/usr/bin/env bash
# The dashboard with a big catalog, in a real headless Chromium (through ChromeDriver): for
# each catalog size N (at least 20,000), imports N SKUs (one in 1,000 below its low-stock
# threshold) into a private redis-server, starts `serve`, and loads the page LOADS times
# (from about:blank each time). Per load: DOMContentLoaded, the moment the "Low stock now"
# panel shows its 20 rows (from the start of the navigation), and a prefix search: typing
# a prefix until the rows shown are all of it, less the page's 150 ms pause after typing.
# Prints the median and the worst of each, in ms.
#
#   scripts/dashboard-load.sh                 # N = 1,000,000, 5 loads
#   scripts/dashboard-load.sh 100000 1000000  # the sizes given
#   LOADS=10 scripts/dashboard-load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)
scripts/ensure-packages.sh redis-server:redis-server redis-cli:redis-tools curl:curl \
  chromium:chromium chromedriver:chromium-driver
cargo build --release -q
bin=$(pwd)/target/release/stockwatch
server=""
driver=""
# shellcheck source=scripts/private-redis.sh
. scripts/private-redis.sh
on_exit='[ -z "$server" ] || kill "$server" 2>/dev/null; [ -z "$driver" ] || kill "$driver" 2>/dev/null'
echo "| SKUs | DOMContentLoaded ms (median / worst) | low-stock panel shown ms | prefix search ms |"
echo "|---:|---|---|---|"
for n in "${sizes[@]}"; do
  cli flushall >/dev/null
  python3 - "$n" "$dir/rows.ndjson" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as rows:
    for i in range(n):
        if i % 1000 == 0:
            rows.write(f'{{"sku":"big-{i:07d}","available":{i // 1000 % 90},"low_stock_threshold":90}}\n')
        else:
            rows.write(f'{{"sku":"big-{i:07d}","available":{100 + i % 400}}}\n')
PY
  "$bin" import --redis-url "$url" "$dir/rows.ndjson" >/dev/null 2>&1
  port=$((20000 + RANDOM % 20000))
  "$bin" serve --bind "127.0.0.1:$port" --redis-url "$url" --expiry-worker off >/dev/null 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -fsS "127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  dport=$((port + 1))
  chromedriver --port="$dport" >/dev/null 2>&1 &
  driver=$!
  for _ in $(seq 100); do curl -fsS "127.0.0.1:$dport/status" >/dev/null 2>&1 && break; sleep 0.1; done
  python3 - "$n" "$port" "$dport" "$dir" "${LOADS:-5}" <<'PY'
import json, statistics, sys, urllib.error, urllib.request
n, port, dport, work, loads = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
def call(method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{dport}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return json.load(resp)["value"]
    except urllib.error.HTTPError as e:
        sys.exit(f"chromedriver {method} {path}: {e.read().decode()[:600]}")
args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1366,900", f"--user-data-dir={work}/profile"]
options = {"args": args, "binary": "/usr/bin/chromium"}
session = call("POST", "/session", {"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}})["sessionId"]
run = lambda script: call("POST", f"/session/{session}/execute/async", {"script": script, "args": []})
shown_low = """const done = arguments[arguments.length - 1];
const check = () => document.querySelectorAll('#low tbody tr').length === 20
  ? done([performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd, performance.now()])
  : setTimeout(check, 2);
check();"""
search = """const done = arguments[arguments.length - 1], t0 = performance.now();
const field = document.getElementById('prefix');
field.value = 'big-00999'; field.dispatchEvent(new Event('input'));
const check = () => document.querySelectorAll('#found tbody tr').length >= 1
  && [...document.querySelectorAll('#found tbody tr')].every(r => r.dataset.sku?.startsWith('big-00999'))
  ? done(performance.now() - t0 - 150) : setTimeout(check, 2);
check();"""
loaded, low, found = [], [], []
call("POST", f"/session/{session}/timeouts", {"script": 60000})
for _ in range(loads):
    call("POST", f"/session/{session}/url", {"url": "about:blank"})
    call("POST", f"/session/{session}/url", {"url": f"http://127.0.0.1:{port}/"})
    dcl, shown = run(shown_low)
    loaded.append(dcl); low.append(shown); found.append(run(search))
call("DELETE", f"/session/{session}")
fmt = lambda xs: f"{statistics.median(xs):.0f} / {max(xs):.0f}"
print(f"| {int(n):,} | {fmt(loaded)} | {fmt(low)} | {fmt(found)} |")
PY
  kill "$server" "$driver" 2>/dev/null || true
  wait "$server" "$driver" 2>/dev/null || true
  server=""
  driver=""
done
