#!/usr/bin/env bash
# A/B of the library's take path: git revisions against the working tree, interleaved in one
# sitting on one private Redis (Unix socket, no persistence).
#
#   scripts/library-ab.sh [REV...] [--rounds 3] [--buyers 40000]
#                         [--workloads "flat hot"] [--strategies "lua watch"]
#
# Builds each REV (in a worktree under target/ab, sharing this target dir; the path of a
# built binary is taken as it is) and the working tree in release, then, for each round and
# each workload, runs `stockwatch bench` of every build in turn (the order rotates between
# rounds). Workloads: purchases over 10,000 SKUs (flat) and of one hot SKU, on lua and on
# watch, concurrency 50, group commit on (the default). `flat-sale` and `hot-sale` are the
# same with a drop's sale settings on every SKU (`bench --sale`), `flat-queue` and
# `hot-queue` with a waiting room that admits everyone (`bench --queue`), `flat-rules` and
# `hot-rules` with three named locations and a low-stock threshold on every SKU (`bench
# --locations 3 --alerts`: every take runs the alert check and keeps the per-location
# low-stock index): with no REV, the working tree alone, `--workloads "hot hot-sale
# hot-queue"` prices a drop per take. Each run reports orders/s, the bench process's CPU per
# order (the client: the library's take path plus the harness) and Redis's CPU per order
# (from /proc, the whole run, the stock setup included). The summary is the median of the
# rounds, per column, and each build against the first one listed: the difference of the
# medians and in how many rounds it was ahead. On two shared cores one 40,000-buyer run
# moves by a third; `--buyers 200000` gives steadier medians.
set -euo pipefail
cd "$(dirname "$0")/.."

revs=()
rounds=3
buyers=40000
workloads="flat hot"
strategies="lua watch"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --buyers) buyers="$2"; shift 2 ;;
    --workloads) workloads="$2"; shift 2 ;;
    --strategies) strategies="$2"; shift 2 ;;
    -*) echo "unknown argument: $1" >&2; exit 2 ;;
    *) revs+=("$1"); shift ;;
  esac
done
scripts/ensure-packages.sh redis-server:redis-server
# shellcheck source=scripts/ab-builds.sh
source scripts/ab-builds.sh
build_revs ${revs[@]+"${revs[@]}"}

# shellcheck source=scripts/private-redis.sh
source scripts/private-redis.sh
results=$(mktemp)
on_exit='rm -f "$results"'
TIMEFORMAT='%U %S'
printf '%-9s %5s %-10s %-6s %10s %11s %10s\n' build round workload strat "orders/s" "client µs" "redis µs"
n=${#builds[@]}
for round in $(seq "$rounds"); do
  for workload in $workloads; do
    skus=10000 sale=()
    case "$workload" in hot*) skus=1 ;; esac
    case "$workload" in
      *-sale) sale=(--sale) ;;
      *-queue) sale=(--queue) ;;
      *-rules) sale=(--locations 3 --alerts) ;;
    esac
    for strategy in $strategies; do
      for i in $(seq 0 $((n - 1))); do
        build=${builds[$(((i + round - 1) % n))]}
        cli FLUSHALL >/dev/null
        r0=$(awk '{ print $14 + $15 }' "/proc/$redis_pid/stat")
        cpu=$({ time "target/ab/stockwatch-$build" bench --strategy "$strategy" --buyers "$buyers" \
          --stock "$buyers" --skus "$skus" --concurrency 50 --json --redis-url "$url" ${sale[@]+"${sale[@]}"} \
          >"$dir/out.json" 2>/dev/null; } 2>&1)
        r1=$(awk '{ print $14 + $15 }' "/proc/$redis_pid/stat")
        python3 - "$dir/out.json" "$cpu" "$buyers" "$build" "$round" "$workload" "$strategy" "$((r1 - r0))" "$(getconf CLK_TCK)" <<'EOF' | tee -a "$results"
import json, sys
out, cpu, buyers, build, rnd, workload, strategy, ticks, hz = sys.argv[1:]
r = json.load(open(out))["results"][0]
user, system = map(float, cpu.split())
client = (user + system) * 1e6 / int(buyers)
# Redis's CPU over the whole run (setup included), per order: the same rule for every build.
redis = int(ticks) / int(hz) * 1e6 / int(buyers)
print(f"{build:<9} {rnd:>5} {workload:<10} {strategy:<6} {r['orders_per_s']:>10.0f} {client:>11.1f} {redis:>10.1f}")
EOF
      done
    done
  done
done

echo
echo "median of $rounds rounds, per column (orders/s, client CPU µs per order, Redis CPU µs per order),"
[ "$n" -lt 2 ] || echo "and against ${builds[0]}: the medians' difference in orders/s and the rounds this build was ahead in"
python3 - "$results" "${builds[0]}" <<'EOF'
import statistics, sys
rows, by_round = {}, {}
for line in open(sys.argv[1]):
    b, rnd, w, s, o, c, r = line.split()
    rows.setdefault((w, s, b), []).append((float(o), float(c), float(r)))
    by_round[(w, s, b, rnd)] = float(o)
first = sys.argv[2]
for (w, s, b), v in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1])):
    med = [statistics.median(x[i] for x in v) for i in range(3)]
    versus = ""
    if b != first and (w, s, first) in rows:
        base = statistics.median(x[0] for x in rows[(w, s, first)])
        rounds = [k[3] for k in by_round if k[:3] == (w, s, b) and (w, s, first, k[3]) in by_round]
        ahead = sum(by_round[(w, s, b, r)] > by_round[(w, s, first, r)] for r in rounds)
        versus = f"  {100 * (med[0] / base - 1):+6.1f}%  ahead in {ahead}/{len(rounds)}"
    print(f"{w:<6} {s:<6} {b:<9} {med[0]:>10.0f} {med[1]:>8.1f} {med[2]:>8.1f}{versus}")
EOF
