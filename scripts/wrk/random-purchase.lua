-- Purchases of one unit of a random SKU among FEED_SKUS (named F-0000000 on), each
-- connection pausing FEED_DELAY_MS between its requests: the load of scripts/feed-latency.sh.
-- At the end, one machine-readable line: RESULT key=value ...

local skus = tonumber(os.getenv("FEED_SKUS") or "100000")
local pause = tonumber(os.getenv("FEED_DELAY_MS") or "0")
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local sku = string.format("F-%07d", math.random(0, skus - 1))
  return wrk.format(nil, "/v1/purchases", nil, '{"sku":"' .. sku .. '","quantity":1,"user_id":"feed"}')
end

function delay()
  return pause
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d non2xx=%d socket_errors=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(99)))
end
