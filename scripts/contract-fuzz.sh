#!/usr/bin/env bash
# Contract fuzzing with an outside tool: schemathesis (from PyPI) against /openapi.json of a
# running server, every check on (no 5xx, status codes, schemas, headers, auth, ...).
# Two servers, one after the other:
#   keys off: an admin token, which the fuzzer sends (every endpoint reached);
#   keys on:  --require-keys, and the fuzzer sends a `checkout,read` key made with
#             `stockwatch keys create` (admin endpoints must then answer a documented 403).
# Usage: scripts/contract-fuzz.sh [max-examples]   (default 50; at most 2 x 90 s of fuzzing)
# The seed is fixed so CI is reproducible; SCHEMATHESIS_SEED=<n> explores others.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/serving.sh
examples=${1:-50}
venv=target/schemathesis-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis>=4,<5"
fi
scripts/debug-build.sh
bin=target/debug/stockwatch

fuzz() {
  local mode=$1 dir port token pid base credential
  dir=$(mktemp -d)
  port=$(free_port)
  token=fuzz-$RANDOM$RANDOM
  local extra=()
  [ "$mode" = on ] && extra=(--require-keys)
  STOCKWATCH_ADMIN_TOKEN=$token $bin serve --bind "127.0.0.1:$port" "${extra[@]}" \
    --data-dir "$dir" --appendfsync none 2>"$dir/serve.log" &
  pid=$!
  # shellcheck disable=SC2064  # expand now: the trap must stop this mode's server
  trap "kill $pid 2>/dev/null; wait $pid 2>/dev/null; [ \"\${keep_log:-}\" ] && tail -50 '$dir/serve.log'; rm -rf '$dir'" EXIT
  base=http://127.0.0.1:$port
  wait_ready "$base" "$dir/serve.log"
  # SKUs the generator tends to pick, stocked, so that stateful runs reach reservations.
  for sku in 0 00 A a ps5 I; do
    curl -sf -X PUT "$base/v1/skus/$sku/stock" -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' -d '{"available": 1000000}' >/dev/null
  done
  credential=$token
  if [ "$mode" = on ]; then
    credential=$($bin keys create --scope checkout,read --name fuzz --data-dir "$dir" 2>/dev/null)
  fi
  echo "== contract fuzz, keys $mode"
  "$venv/bin/schemathesis" --config-file ci/schemathesis.toml run "$base/openapi.json" \
    --checks all --max-examples "$examples" --max-time 90 --exclude-path /v1/events --exclude-path /v1/demo/rush --exclude-path /v1/demo/bots \
    -H "Authorization: Bearer $credential" --no-color --seed "${SCHEMATHESIS_SEED:-22426}"
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  trap - EXIT
}

fuzz off
fuzz on
