#!/usr/bin/env bash
# Drives a running stockwatch server with Debian's `wrk` (installed if missing) and prints
# what each endpoint sustains against `GET /healthz` on the same server, in one run:
# purchases of one hot SKU (watch, lua), carts of three SKUs (watch, lua), and healthz as
# the ceiling of the HTTP tier itself.
#
#   scripts/serve.sh &                      # or any running server
#   scripts/http-bench.sh [--url http://127.0.0.1:8080] [--duration 10] [--connections 50]
#                         [--threads 2] [--token T] [--prefix bench]
#
# Each round sets fresh stock large enough that no purchase is refused (a refusal is cheaper
# than a sale and would flatter the figure); non-2xx answers are counted and reported.
set -euo pipefail
cd "$(dirname "$0")/.."

url="http://127.0.0.1:8080"
duration=10
connections=50
threads=2
token="${STOCKWATCH_ADMIN_TOKEN:-}"
prefix="bench$(date +%s)"
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --token) token="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done

scripts/ensure-packages.sh wrk:wrk curl:curl
if ! curl -fsS "$url/healthz" >/dev/null; then
  echo "no stockwatch server answers at $url (start one with scripts/serve.sh)" >&2
  exit 1
fi

auth=()
[ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
# Stock no run of this length can sell out.
set_stock() {
  curl -fsS -X PUT "${auth[@]}" -H 'Content-Type: application/json' \
    -d '{"available": 1000000000}' "$url/v1/skus/$1/stock" >/dev/null
}

# run NAME METHOD PATH BODY: one wrk run; prints a row and records requests/s in $rate.
declare -A rate
printf '%-22s %12s %9s %9s %9s %8s\n' "what" "requests/s" "p50 ms" "p90 ms" "p99 ms" "non-2xx"
run() {
  local name="$1" out line
  out=$(BENCH_METHOD="$2" BENCH_PATH="$3" BENCH_BODY="$4" BENCH_TOKEN="$token" \
    wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s scripts/wrk/request.lua "$url$3")
  line=$(grep '^RESULT' <<<"$out")
  eval "local ${line#RESULT }"
  # shellcheck disable=SC2154 # set by the eval above
  local rps=$(( requests * 1000000 / duration_us ))
  rate[$name]=$rps
  awk -v n="$name" -v r="$rps" -v a="$p50_us" -v b="$p90_us" -v c="$p99_us" -v e="$((non2xx + socket_errors))" \
    'BEGIN { printf "%-22s %12d %9.2f %9.2f %9.2f %8d\n", n, r, a / 1000, b / 1000, c / 1000, e }'
}

hot="$prefix-hot"
cart=("$prefix-a" "$prefix-b" "$prefix-c")
for sku in "$hot" "${cart[@]}"; do set_stock "$sku"; done
purchase="{\"sku\":\"$hot\",\"quantity\":1,\"user_id\":\"wrk\"}"
items=$(printf '{"sku":"%s","quantity":1},' "${cart[@]}")
checkout="{\"user_id\":\"wrk\",\"items\":[${items%,}]}"

run "GET /healthz" GET /healthz ""
for strategy in watch lua; do
  set_stock "$hot"
  run "purchase $strategy" POST "/v1/purchases?strategy=$strategy" "$purchase"
done
for strategy in watch lua; do
  for sku in "${cart[@]}"; do set_stock "$sku"; done
  run "checkout(3) $strategy" POST "/v1/checkouts?strategy=$strategy" "$checkout"
done

echo
echo "against GET /healthz (${rate[GET /healthz]}/s):"
for name in "purchase watch" "purchase lua" "checkout(3) watch" "checkout(3) lua"; do
  awk -v n="$name" -v r="${rate[$name]}" -v h="${rate[GET /healthz]}" 'BEGIN { printf "  %-18s %.2f\n", n, r / h }'
done
