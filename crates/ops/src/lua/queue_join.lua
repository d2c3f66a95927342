-- Joins a SKU's waiting room: one ticket per customer, its place decided on Redis's clock.
-- A customer who joins before the sale opens gets a random place below 1 (ARGV[3], drawn
-- by the caller): nobody can see an early place before the opening (crates/ops/src/queue.rs
-- answers no position until then), so a random place drawn at joining is a shuffle of the
-- early arrivals at the opening. They are admitted from `opens` on, one each 1/rate
-- seconds, in that order. A customer who joins later is admitted after the early ones and
-- after each other, one each 1/rate seconds, or at once when the room is empty: the
-- ticket's score is that instant (epoch ms, far above 1), so the set is in admission order.
-- KEYS: stock hash, queue (zset), tickets (hash). ARGV: user, new ticket, random place.
-- Returns {'unknown_sku'} | {'no_queue'} | {'joined', ticket} | {'new', ticket}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'unknown_sku'} end
local sale = redis.call('HGET', KEYS[1], 'sale')
local opens, rate = nil, nil
if sale then
  local o, _, _, _, r = string.match(sale, '^([^,]*),([^,]*),([^,]*),([^,]*),?([^,]*)')
  opens, rate = tonumber(o), tonumber(r)
end
if not rate then return {'no_queue'} end
local have = redis.call('HGET', KEYS[3], 'u:' .. ARGV[1])
if have then return {'joined', have} end
-- Scripts of Redis before 5 replicate their effects only when asked (7 ignores this).
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local score = ARGV[3]
if not opens or now >= opens then
  local interval = 1000 / rate
  local early = redis.call('ZCOUNT', KEYS[2], 0, '(1')
  local last = tonumber(redis.call('HGET', KEYS[3], 'last') or '0')
  local after = math.max(last, (opens or now) + (early - 1) * interval)
  score = math.max(now, after + interval)
  redis.call('HSET', KEYS[3], 'last', string.format('%.3f', score))
end
redis.call('ZADD', KEYS[2], score, ARGV[2])
redis.call('HSET', KEYS[3], 'u:' .. ARGV[1], ARGV[2], 't:' .. ARGV[2], ARGV[1])
return {'new', ARGV[2]}
