#!/usr/bin/env bash
# Makes sure redis-server is on PATH, installing Debian/Ubuntu's package when it is missing.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
echo "redis-server not found; installing it with apt-get" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
# Debian's package starts a system-wide server on 6379; stockwatch runs its own, so leave it be.
command -v redis-server >/dev/null
