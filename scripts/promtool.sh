#!/usr/bin/env bash
# Checks the on-call rules and runs their unit tests with promtool (Debian's `prometheus`
# package, installed if missing): every alert fires when it should and stays quiet when not.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-packages.sh promtool:prometheus
# The package starts a Prometheus server where it can; this check needs none.
pkill -x prometheus 2>/dev/null || true
promtool check rules deploy/prometheus/stockwatch.rules.yml
(cd deploy/prometheus && promtool test rules stockwatch.test.yml)
