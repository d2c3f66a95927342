# Sourced by the scripts that start `stockwatch serve` themselves (the A/B and bench
# scripts, contract fuzzing, the TypeScript client): a free port, and the wait for a new
# server to answer `/readyz`, which fails loudly with the server's log instead of letting
# the script go on against a server that never came up.

# A TCP port free on loopback now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_ready URL LOG: waits up to 30 s for URL/readyz to answer 200; otherwise prints the
# end of LOG (the server's stderr) and returns 1.
wait_ready() {
  local url=$1 log=$2
  for _ in $(seq 300); do
    curl -sf "$url/readyz" >/dev/null && return 0
    sleep 0.1
  done
  echo "no answer from $url/readyz after 30 s; the end of $log:" >&2
  tail -20 "$log" >&2
  return 1
}
