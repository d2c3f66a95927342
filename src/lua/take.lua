-- Moves stock out of `available` for every line of a cart, all or nothing.
-- Validates everything before the first write: a script that errors after a write keeps it.
--
-- KEYS: stock_1..stock_n, moves_1..moves_n, record_key, [expiry_key]
-- ARGV: n, destination field ('sold'|'reserved'), movement kind, ref, at_ms, maxlen,
--       q_1..q_n, record mode ('order'|'reservation'), record args...
-- Returns {'ok', remaining_1..n} | {'unknown_sku', i} | {'insufficient_stock', i, avail, ...}
local n = tonumber(ARGV[1])
local dest, kind, ref, at, maxlen = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]

local available = {}
for i = 1, n do
  local a = redis.call('HGET', KEYS[i], 'available')
  if not a then return {'unknown_sku', i} end
  available[i] = tonumber(a)
end

local short = {'insufficient_stock'}
for i = 1, n do
  if available[i] < tonumber(ARGV[6 + i]) then
    table.insert(short, i)
    table.insert(short, available[i])
  end
end
if #short > 1 then return short end

local reply = {'ok'}
for i = 1, n do
  local q = tonumber(ARGV[6 + i])
  table.insert(reply, redis.call('HINCRBY', KEYS[i], 'available', -q))
  redis.call('HINCRBY', KEYS[i], dest, q)
  redis.call('XADD', KEYS[n + i], 'MAXLEN', '~', maxlen, '*',
    'kind', kind, 'ref', ref, 'quantity', q, 'at', at)
end

local mode = ARGV[7 + n]
if mode == 'order' then
  redis.call('SET', KEYS[2 * n + 1], ARGV[8 + n])
elseif mode == 'reservation' then
  -- ARGV[8 + n] = expires_at, then field/value pairs of the reservation hash
  local fields = {}
  for j = 9 + n, #ARGV do table.insert(fields, ARGV[j]) end
  redis.call('HSET', KEYS[2 * n + 1], unpack(fields))
  redis.call('ZADD', KEYS[2 * n + 2], ARGV[8 + n], ref)
end
return reply
