#!/usr/bin/env bash
# Soak: a release build of the service with its own redis-server (appendfsync everysec), then
# `stockwatch soak` against it for a while (default 10 minutes), then a final verify.
# Usage: scripts/soak.sh [soak flags...]   e.g. scripts/soak.sh --duration 30m --json
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/serving.sh
scripts/ensure-packages.sh redis-server:redis-server curl:curl python3:python3
cargo build --release -q --bin stockwatch
bin=target/release/stockwatch
dir=$(mktemp -d)
port=$(free_port)
"$bin" serve --bind "127.0.0.1:$port" --data-dir "$dir" 2>"$dir/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
wait_ready "http://127.0.0.1:$port" "$dir/serve.log"
"$bin" soak --target "http://127.0.0.1:$port" --data-dir "$dir" "$@"
