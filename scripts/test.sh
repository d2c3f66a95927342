#!/usr/bin/env bash
# Runs the whole test suite against real redis-server processes the tests start themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
# The dashboard test drives headless Chromium through ChromeDriver; the TLS test needs openssl.
# The ledger tests start a private PostgreSQL (pg_ctlcluster is how the package shows on PATH).
scripts/ensure-packages.sh redis-server:redis-server redis-cli:redis-tools chromium:chromium chromedriver:chromium-driver openssl:openssl pg_ctlcluster:postgresql
# A Redis below the floor, for the test that `serve` refuses it at start.
STOCKWATCH_OLD_REDIS_SERVER=$(scripts/old-redis.sh)
export STOCKWATCH_OLD_REDIS_SERVER
exec cargo test --all-targets "$@"
