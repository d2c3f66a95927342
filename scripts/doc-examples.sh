#!/usr/bin/env bash
# Runs every shell example that talks to a server, as written, against a real one: each
# ```sh block with a `curl` line in README.md and docs/guides/*.md. So an example that drifts
# from the API fails CI instead of a reader's first minute.
#
#   scripts/doc-examples.sh [FILE...]        # default: README.md docs/guides/*.md
#
# The blocks of one file run in order in one shell (a variable one block sets, the next can
# use), in a scratch directory, against `stockwatch serve` on 127.0.0.1:8080 (the port the
# docs name) with its managed Redis in ./.stockwatch there. What a reader would do by hand
# is done for them:
# - `scripts/serve.sh ARGS` (re)starts that server, fresh, with ARGS; a file's blocks start
#   with `scripts/serve.sh --allow-broken`, as the quick start does;
# - `cargo run --release -q -- ARGS` runs the debug binary built here;
# - `scripts/webhook-receiver.sh ADDR` starts the example receiver in the background, and
#   `scripts/postgres.sh` a private PostgreSQL on port 5433 and `scripts/cluster.sh` a
#   3-master Redis Cluster on ports 7000-7002 (both waited for);
# - `stockwatch ARGS` is the debug binary built here;
# - every `curl` must answer 2xx, unless its line ends in a comment that starts with the
#   status it expects (`# 401 unauthorized`); `curl -N` (a stream) is read for 2 s.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
[ $# -gt 0 ] || set -- README.md docs/guides/*.md
scripts/ensure-packages.sh redis-server:redis-server curl:curl
scripts/ensure-packages.sh redis-cli:redis-tools
scripts/debug-build.sh

# Rust blocks cannot run on their own: each must be an excerpt of an example that CI runs
# (each paragraph of the block found, line for line, in one file under examples/).
python3 - "$@" <<'EOF' || exit 1
import glob, re, sys
examples = [[l.strip() for l in open(path).read().splitlines()] for path in glob.glob('examples/*.rs')]
def found(lines):
    n = len(lines)
    return any(body[i:i + n] == lines for body in examples for i in range(len(body) - n + 1))
bad = 0
for doc in sys.argv[1:]:
    for block in re.findall(r'^```rust\n(.*?)^```', open(doc).read(), flags=re.S | re.M):
        for part in re.split(r'\n\s*\n', block.strip()):
            if not found([l.strip() for l in part.splitlines()]):
                print(f"{doc}: this Rust block is not an excerpt of any examples/*.rs:\n{part}")
                bad += 1
sys.exit(1 if bad else 0)
EOF

failed=0
for doc in "$@"; do
  work=$(mktemp -d)
  chmod 755 "$work"   # PostgreSQL runs as its own user, and must reach its directory
  python3 - "$doc" "$root" >"$work/run.sh" <<'EOF'
import re, sys
doc, root = sys.argv[1:]
blocks = re.findall(r'^```sh\n(.*?)^```', open(doc).read(), flags=re.S | re.M)
# Continued lines joined; only blocks that call the service run.
blocks = [re.sub(r'\\\n\s*', ' ', b).splitlines() for b in blocks]
blocks = [b for b in blocks if any(l.lstrip().startswith('curl ') for l in b)]
if not blocks:
    print(f'echo "{doc}: no examples that call the service"')
    sys.exit()
print(f'''set -euo pipefail
BIN="{root}/target/debug/stockwatch"
server=""
stop_server() {{ [ -z "$server" ] || {{ kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; }}; server=""; }}
start_server() {{
  stop_server; rm -rf .stockwatch
  "$BIN" serve --bind 127.0.0.1:8080 --data-dir .stockwatch --appendfsync none "$@" 2>>serve.log &
  server=$!
  for _ in $(seq 100); do command curl -sf localhost:8080/readyz >/dev/null && return; sleep 0.1; done
  echo "the server did not start:" >&2; tail -5 serve.log >&2; exit 1
}}
# SIGINT: what Ctrl-C sends, and what the examples stop their servers on.
trap 'stop_server; kill -INT $(jobs -p) 2>/dev/null || true; wait || true' EXIT
stockwatch() {{ "$BIN" "$@"; }}
# in_background NAME READY ARGS...: starts an example, waits for its line saying it is up.
in_background() {{
  local name=$1 ready=$2; shift 2
  "{root}/target/debug/examples/$name" "$@" >"$name.log" 2>&1 &
  for _ in $(seq 600); do grep -q "$ready" "$name.log" && return; sleep 0.1; done
  echo "$name did not start:" >&2; tail -5 "$name.log" >&2; exit 1
}}
curl() {{
  case " $* " in
    *" -sN "*|*" -N "*) command curl --max-time 2 "$@" || [ $? -eq 28 ]; echo ;;
    *) command curl --fail-with-body "$@"; echo ;;
  esac
}}
expect() {{
  local want=$1 got; shift
  got=$(command curl -s -o body.txt -w '%{{http_code}}' "$@")
  [ "$got" = "$want" ] || {{ echo "expected $want, got $got: $(cat body.txt)" >&2; exit 1; }}
  echo "$want as expected"
}}
start_server --allow-broken''')
ran = 0
for logical in blocks:
    ran += 1
    print(f'echo "--- {doc}, example {ran}"')
    for line in logical:
        # What a reader starts in another terminal (or with `&`) is started here.
        line = re.sub(r'^((?:\w+=\S+\s+)*)scripts/serve\.sh\b([^#&]*).*', r'\1start_server\2', line)
        line = re.sub(r'^scripts/postgres\.sh\b([^#&]*).*', r"in_background postgres 'PostgreSQL is up'\1", line)
        line = re.sub(r'^scripts/cluster\.sh\b([^#&]*).*', r"in_background cluster 'Cluster is up'\1", line)
        line = re.sub(r'^scripts/webhook-receiver\.sh\b([^#&]*).*', rf'"{root}/target/debug/examples/webhook_receiver"\1 >receiver.log 2>&1 &', line)
        line = line.replace('cargo run --release -q --', '"$BIN"')
        m = re.match(r'^curl (.*?)\s+#\s*([45]\d\d)\b', line)
        if m:
            line = f'expect {m.group(2)} {m.group(1)}'
        print(line)
print(f'echo "{doc}: {ran} examples run"')
EOF
  if ! (cd "$work" && bash run.sh >out.txt 2>&1); then
    echo "$doc: an example failed:" >&2
    tail -20 "$work/out.txt" >&2
    failed=1
  else
    if [ -n "${VERBOSE:-}" ]; then cat "$work/out.txt"; else tail -1 "$work/out.txt"; fi
  fi
  rm -rf "$work"
done
exit "$failed"
