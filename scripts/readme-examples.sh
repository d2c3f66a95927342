#!/usr/bin/env bash
# Runs the README's "Try it" block, as written, against a real server on localhost:8080 (the
# port the README names), and fails if any of its calls answers an error. So an example
# that drifts from the API fails CI instead of a newcomer's first minute.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --bin stockwatch
dir=$(mktemp -d)
target/debug/stockwatch serve --bind 127.0.0.1:8080 --data-dir "$dir" --appendfsync none 2>"$dir/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -sf localhost:8080/readyz >/dev/null && break; sleep 0.1; done
# The first ```sh block after "## Try it".
awk '/^## Try it/ { on = 1 } on && /^```sh/ { inside = 1; next } inside && /^```/ { exit } inside' README.md >"$dir/try.sh"
[ -s "$dir/try.sh" ] || { echo "no Try it block in README.md" >&2; exit 1; }
# Every call must succeed: curl fails on an HTTP error, with the body shown.
{
  echo 'set -euo pipefail'
  echo 'curl() { command curl --fail-with-body "$@"; echo; }'
  cat "$dir/try.sh"
} >"$dir/run.sh"
if ! bash "$dir/run.sh" >"$dir/out.txt" 2>&1; then
  echo "README's Try it block failed:" >&2
  tail -20 "$dir/out.txt" >&2
  exit 1
fi
echo "README's Try it block: $(grep -c '^curl' "$dir/try.sh") calls, all answered 2xx"
