#!/usr/bin/env bash
# Who wins a drop served by a fleet: three `stockwatch serve` processes on one private
# Redis, BUYERS buyers (default 3000) for STOCK units (default 1000), spread round-robin
# over the three, once without a waiting room and once with one.
#
#   scripts/fleet-fairness.sh [BUYERS] [STOCK] [ADMIT_PER_S]
#
# Without the room, every buyer sends its purchase at once (one thread each, in three client
# processes, one per server); its arrival is when it sent it. With the room (`admit_per_s` ADMIT_PER_S, default 100), every buyer
# joins before the opening, then polls its ticket (waiting about as long as its position
# says, as a shop's page would) and buys once admitted; its arrival is its place in the
# room's queue, read from Redis at the end. `out_of_order` is what the bench
# reports: the share of served buyers who arrived after a buyer who was turned away
# (0 is first come, first served). Needs release binaries; builds them.
set -euo pipefail
cd "$(dirname "$0")/.."
buyers=${1:-3000}
stock=${2:-1000}
rate=${3:-100}
scripts/ensure-packages.sh redis-server:redis-server redis-cli:redis-tools
cargo build -q --release --bin stockwatch
# shellcheck source=scripts/private-redis.sh
source scripts/private-redis.sh
pids=()
on_exit='kill "${pids[@]}" 2>/dev/null || true'
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
ports=()
for i in 0 1 2; do
  log="$dir/serve-$i.log"
  STOCKWATCH_ADMISSION_SECRET=$secret target/release/stockwatch serve --bind 127.0.0.1:0 \
    --redis-url "$url" --key-prefix fleet --log-format json --workers 2 >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    port=$(grep -o '"port":[0-9]*' "$log" | head -1 | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  ports+=("$port")
done
echo "three servers on ports ${ports[*]}, one Redis; $buyers buyers for $stock units"
python3 - "$buyers" "$stock" "$rate" "$dir/redis.sock" "${ports[@]}" <<'EOF'
import json, subprocess, sys, threading, time, http.client

buyers, stock, rate, sock = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ports = [int(p) for p in sys.argv[5:]]
threading.stack_size(256 * 1024)

def call(port, method, path, body=None, headers=None):
    """One request; a connection refused or reset (thousands connect at once) is tried
    again. Writes carry an Idempotency-Key or are idempotent themselves (joining), so a
    retry never takes twice."""
    h = {"content-type": "application/json"}
    h.update(headers or {})
    for attempt in range(20):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request(method, path, json.dumps(body) if body is not None else None, h)
            r = conn.getresponse()
            data = r.read()
            conn.close()
            return r.status, (json.loads(data) if data else None)
        except OSError:
            time.sleep(0.05 * (attempt + 1))
    raise RuntimeError(f"{method} {path}: no answer")

def redis_ms():
    secs, micros = subprocess.check_output(["redis-cli", "-s", sock, "TIME"]).split()
    return int(secs) * 1000 + int(micros) // 1000

def rfc3339(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)

def out_of_order(order, served):
    """order: buyer -> arrival key; served: set of buyers served."""
    turned = [order[b] for b in order if b not in served]
    if not served:
        return 0.0, 0
    first = min(turned) if turned else None
    late = sum(1 for b in served if first is not None and order[b] > first)
    return late / len(served), late

def run_all(work):
    threads = [threading.Thread(target=work, args=(i,)) for i in range(buyers)]
    for t in threads: t.start()
    for t in threads: t.join()

# 1. Without a waiting room: everybody at once, round-robin. Three client processes, one
# per server, so no one interpreter lock orders the arrivals; their clocks are one
# (CLOCK_MONOTONIC is system-wide), and all start at one instant.
import multiprocessing
call(ports[0], "PUT", "/v1/skus/plain/stock", {"available": stock})
start_at = time.monotonic_ns() + 2_000_000_000
def client(k, out):
    mine, results, lock = [i for i in range(buyers) if i % 3 == k], [], threading.Lock()
    def plain(i):
        while time.monotonic_ns() < start_at:
            time.sleep(0.0005)
        t = time.monotonic_ns()
        status, _ = call(ports[k], "POST", "/v1/purchases",
                         {"sku": "plain", "quantity": 1, "user_id": f"b{i}"}, {"Idempotency-Key": f"plain-{i}"})
        with lock:
            results.append((i, t, status == 201))
    threads = [threading.Thread(target=plain, args=(i,)) for i in mine]
    for t in threads: t.start()
    for t in threads: t.join()
    out.put(results)
ctx = multiprocessing.get_context("fork")
out = ctx.Queue()
procs = [ctx.Process(target=client, args=(k, out)) for k in range(3)]
for p in procs: p.start()
arrival, served = {}, set()
for _ in procs:
    for i, t, ok in out.get():
        arrival[i] = t
        if ok: served.add(i)
for p in procs: p.join()
share, late = out_of_order(arrival, served)
print(f"without a waiting room: served {len(served)}, out_of_order {share:.3f} ({late} served after a buyer turned away)")

lock = threading.Lock()
# 2. With a waiting room: all join before the opening, then poll and buy when admitted.
opens = redis_ms() + 4000
status, _ = call(ports[0], "PUT", "/v1/skus/roomed/stock", {"available": stock})
status, body = call(ports[0], "PUT", "/v1/skus/roomed/sale",
                    {"opens_at": rfc3339(opens), "queue": {"admit_per_s": rate, "admission_ttl_s": 60}})
assert status == 200, body
tickets, served = {}, set()
def roomed(i):
    port = ports[i % 3]
    status, t = call(port, "POST", "/v1/skus/roomed/queue", {"user_id": f"b{i}"})
    assert status == 201, t
    with lock: tickets[i] = t["ticket"]
    time.sleep(max(0.0, (opens - redis_ms()) / 1000.0))
    while True:
        status, t = call(port, "GET", f"/v1/skus/roomed/queue/{tickets[i]}")
        if t["state"] == "admitted":
            status, why = call(port, "POST", "/v1/purchases", {"sku": "roomed", "quantity": 1, "user_id": f"b{i}"},
                             {"Admission": t["admission"], "Idempotency-Key": f"roomed-{i}"})
            if status == 201:
                with lock: served.add(i)
            return
        if t["state"] in ("sold_out", "expired"):
            return
        # As a shop's page would: wait about as long as the place says, then ask again.
        time.sleep(max(0.005, (t["position"] or 1) / rate * 0.8))
run_all(roomed)
ranked = subprocess.check_output(["redis-cli", "-s", sock, "ZRANGE", "fleet:sku:{roomed}:queue", "0", "-1"]).split()
place = {t.decode(): k for k, t in enumerate(ranked)}
order = {i: place[t] for i, t in tickets.items()}
share, late = out_of_order(order, served)
print(f"with a waiting room ({rate}/s): served {len(served)}, out_of_order {share:.3f} ({late} served after a buyer turned away)")
EOF
