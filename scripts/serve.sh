#!/usr/bin/env bash
# Quick start: run the service on 127.0.0.1:8080 with a managed redis-server in ./.stockwatch.
# Extra arguments go to `stockwatch serve` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-packages.sh redis-server:redis-server
exec cargo run --release -- serve "$@"
