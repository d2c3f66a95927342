-- Moves stock out of `available` for every line of a cart, all or nothing, and leaves the
-- order or reservation record. Validates everything before the first write: a script that
-- errors after a write keeps it. With an idempotency key, a stored answer is replayed, and
-- a fresh answer (a refusal too) is stored in the same script as the effect.
--
-- KEYS: stock_1..n, moves_1..n, record, expiry, ledger feed, [idempotency]
-- ARGV: n, destination ('sold'|'reserved'), movement kind, ref, at_ms, maxlen,
--       mode ('order'|'reservation'), expires_at, fingerprint, retention_ms,
--       ledger entry ('' when the ledger is off), q_1..q_n, then the order JSON or the reservation's field/value pairs
-- Returns {'ok', remaining_1..n} | {'unknown_sku', i} | {'insufficient_stock', i, avail, ...}
--       | {'replay', field, value, ...} | {'key_reused'}
local n = tonumber(ARGV[1])
local dest, kind, ref, at, maxlen = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local mode, exp, fp, retention = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local entry = ARGV[11]
local idem = KEYS[2 * n + 4]

if idem then
  local stored = redis.call('HGET', idem, 'fp')
  if stored then
    if stored ~= fp then return {'key_reused'} end
    local reply = {'replay'}
    for _, v in ipairs(redis.call('HGETALL', idem)) do table.insert(reply, v) end
    return reply
  end
end

-- Stores the answer (same fields as the Rust side's Receipt) when there is a key.
local function answer(reply)
  if idem then
    local nums = {}
    for j = 2, #reply do table.insert(nums, reply[j]) end
    redis.call('HSET', idem, 'fp', fp, 'ref', ref, 'exp', exp, 'tag', reply[1],
      'nums', table.concat(nums, ','), 'attempts', 1, 'conflicts', 0)
    redis.call('PEXPIRE', idem, retention)
  end
  return reply
end

local available = {}
for i = 1, n do
  local a = redis.call('HGET', KEYS[i], 'available')
  if not a then return answer({'unknown_sku', i}) end
  available[i] = tonumber(a)
end

local short = {'insufficient_stock'}
for i = 1, n do
  if available[i] < tonumber(ARGV[11 + i]) then
    table.insert(short, i)
    table.insert(short, available[i])
  end
end
if #short > 1 then return answer(short) end

local reply = {'ok'}
for i = 1, n do
  local q = tonumber(ARGV[11 + i])
  table.insert(reply, redis.call('HINCRBY', KEYS[i], 'available', -q))
  redis.call('HINCRBY', KEYS[i], dest, q)
  redis.call('XADD', KEYS[n + i], 'MAXLEN', '~', maxlen, '*',
    'kind', kind, 'ref', ref, 'quantity', q, 'at', at)
end

if mode == 'order' then
  redis.call('SET', KEYS[2 * n + 1], ARGV[12 + n])
else
  local fields = {}
  for j = 12 + n, #ARGV do table.insert(fields, ARGV[j]) end
  redis.call('HSET', KEYS[2 * n + 1], unpack(fields))
  redis.call('ZADD', KEYS[2 * n + 2], exp, ref)
end
if entry ~= '' then redis.call('XADD', KEYS[2 * n + 3], '*', 'e', entry) end
return answer(reply)
