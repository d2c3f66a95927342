#!/usr/bin/env bash
# Soak: a release build of the service with its own redis-server (appendfsync everysec), then
# `stockwatch soak` against it for a while (default 10 minutes), then a final verify.
# Usage: scripts/soak.sh [soak flags...]   e.g. scripts/soak.sh --duration 30m --json
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-packages.sh redis-server:redis-server curl:curl python3:python3
cargo build --release -q --bin stockwatch
bin=target/release/stockwatch
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --bind "127.0.0.1:$port" --data-dir "$dir" 2>"$dir/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.1
done
"$bin" soak --target "http://127.0.0.1:$port" --data-dir "$dir" "$@"
