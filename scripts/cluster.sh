#!/usr/bin/env bash
# Starts a private 3-master Redis Cluster on 127.0.0.1:7000-7002 (bus ports 17000-17002)
# from Debian's redis-server, and prints the REDIS_CLUSTER_NODES to use. Ctrl-C stops it.
# Arguments: [DIR] [FIRST_PORT] (defaults: ./.stockwatch-cluster 7000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-packages.sh redis-server:redis-server redis-cli:redis-tools
exec cargo run --release --example cluster -- "$@"
