#!/usr/bin/env bash
# Makes sure each command is on PATH, installing its Debian/Ubuntu package when missing.
# Usage: scripts/ensure-packages.sh redis-server:redis-server chromedriver:chromium-driver ...
set -euo pipefail
missing=()
for pair in "$@"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing with apt-get: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
# Debian's redis package starts a system-wide server on 6379; stockwatch runs its own.
for pair in "$@"; do command -v "${pair%%:*}" >/dev/null; done
