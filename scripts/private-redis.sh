# Sourced by the measuring scripts (targets.sh, growth.sh): starts a private redis-server on
# a Unix socket in a temp dir, without persistence, and stops it on exit. Sets `dir`,
# `url` (for --redis-url), `redis_pid` and `cli` (redis-cli on that socket). A script with
# more to stop sets `on_exit` to a command run first.
dir=$(mktemp -d)
redis-server --port 0 --unixsocket "$dir/redis.sock" --save "" --appendonly no --dir "$dir" \
  --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
on_exit=":"
trap 'eval "$on_exit"; kill "$(cat "$dir/redis.pid")" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do [ -S "$dir/redis.sock" ] && [ -s "$dir/redis.pid" ] && break; sleep 0.1; done
url="redis+unix://$dir/redis.sock"
redis_pid=$(cat "$dir/redis.pid")
cli() { redis-cli -s "$dir/redis.sock" "$@"; }
