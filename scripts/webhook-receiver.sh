#!/usr/bin/env bash
# A local webhook receiver that checks signatures and prints alerts (examples/webhook_receiver.rs).
# Arguments: [BIND] (default 127.0.0.1:9000). The secret comes from WEBHOOK_SECRET
# (default whsec_0123456789abcdef, the one the README's example registers).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --example webhook_receiver -- "$@"
