#!/usr/bin/env bash
# Starts a private PostgreSQL on 127.0.0.1:5433 from Debian's packages (as the postgres user
# when run as root), with a `stockwatch` database, and prints the STOCKWATCH_LEDGER_URL to
# use. Ctrl-C stops it; the data stays in the directory for the next run.
# Arguments: [DIR] [PORT] (defaults: ./.stockwatch-postgres 5433).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-packages.sh pg_ctlcluster:postgresql
exec cargo run --release --example postgres -- "$@"
