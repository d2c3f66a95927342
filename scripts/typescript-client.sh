#!/usr/bin/env bash
# The TypeScript example (examples/typescript/) against a real server: installs its npm
# packages from the lockfile, generates the types from the running server's /openapi.json
# (openapi-typescript), type-checks the example against them (tsc), and runs it: it buys,
# holds, confirms and reads an order, and checks a retried call makes one effect.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/serving.sh
scripts/ensure-packages.sh node:nodejs npm:npm curl:curl
scripts/debug-build.sh
dir=$(mktemp -d)
port=$(free_port)
target/debug/stockwatch serve --bind "127.0.0.1:$port" --data-dir "$dir" --appendfsync none 2>"$dir/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
wait_ready "http://127.0.0.1:$port" "$dir/serve.log"
cd examples/typescript
npm ci --no-audit --no-fund --loglevel=error
STOCKWATCH_URL="http://127.0.0.1:$port" npm run -s types
npm run -s build
node dist/checkout.js "http://127.0.0.1:$port"
