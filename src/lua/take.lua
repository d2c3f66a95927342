-- Moves stock out of `available` for every line of a cart, all or nothing, drawing each
-- line from the SKU's locations (the pinned one, or all of them in draw order), and leaves
-- the order or reservation record. Validates everything before the first write: a script
-- that errors after a write keeps it. With an idempotency key, a stored answer is replayed,
-- and a fresh answer (a refusal too) is stored in the same script as the effect.
-- The same decision as `Level::draw` in src/ops/level.rs: keep the two in step.
--
-- KEYS: stock_1..n, moves_1..n, record, expiry, ledger feed, alerts, [idempotency]
-- ARGV: n, destination ('sold'|'reserved'), movement kind, ref, at_ms, maxlen,
--       mode ('order'|'reservation'), expires_at, fingerprint, retention_ms,
--       ledger entry ('' when the ledger is off), q_1..q_n, pin_1..pin_n ('' = not pinned),
--       then the order JSON or the reservation's field/value pairs
-- Returns {'ok', remaining_1..n, alloc_1..n} | {'unknown_sku', i} | {'unknown_location', i}
--       | {'insufficient_stock', i, avail, ...} | {'replay', field, value, ...} | {'key_reused'}
-- alloc_i is 'east=3,west=2', or '' when the line came all from `default`.
-- `raise_alerts` comes from alerts.lua, which is prepended.
local n = tonumber(ARGV[1])
local dest, kind, ref, at, maxlen = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local mode, exp, fp, retention = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local entry = ARGV[11]
local record = 12 + 2 * n
local alerts = KEYS[2 * n + 4]
local idem = KEYS[2 * n + 5]

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
local function answer(reply, alloc)
  if idem then
    local nums = {}
    for j = 2, #reply - #alloc do table.insert(nums, reply[j]) end
    redis.call('HSET', idem, 'fp', fp, 'ref', ref, 'exp', exp, 'tag', reply[1],
      'nums', table.concat(nums, ','), 'attempts', 1, 'conflicts', 0,
      'alloc', table.concat(alloc, ';'))
    redis.call('PEXPIRE', idem, retention)
  end
  return reply
end

local available, locs = {}, {}
for i = 1, n do
  local v = redis.call('HMGET', KEYS[i], 'available', 'locs')
  if not v[1] then return answer({'unknown_sku', i}, {}) end
  available[i] = tonumber(v[1])
  locs[i] = v[2]
end

-- A line's locations in draw order, as {name, available}; `default` holds what the named
-- ones do not.
local function places(i)
  if not locs[i] then return {{'default', available[i]}} end
  local list, named, default = {}, 0, nil
  for name in string.gmatch(locs[i], '[^,]+') do
    if name == 'default' then
      default = {name, 0}
      table.insert(list, default)
    else
      local a = tonumber(redis.call('HGET', KEYS[i], 'available@' .. name) or '0')
      named = named + a
      table.insert(list, {name, a})
    end
  end
  if default then default[2] = available[i] - named end
  return list
end

local drawn, short = {}, {'insufficient_stock'}
for i = 1, n do
  local q, pin = tonumber(ARGV[11 + i]), ARGV[11 + n + i]
  local list = places(i)
  if pin ~= '' then
    local found = nil
    for _, p in ipairs(list) do if p[1] == pin then found = p end end
    if not found then return answer({'unknown_location', i}, {}) end
    if found[2] >= q then
      drawn[i] = {{pin, q}}
    else
      table.insert(short, i)
      table.insert(short, math.max(found[2], 0))
    end
  else
    local left, d = q, {}
    for _, p in ipairs(list) do
      local take = math.min(p[2], left)
      if take > 0 then
        table.insert(d, {p[1], take})
        left = left - take
      end
      if left == 0 then break end
    end
    if left == 0 then
      drawn[i] = d
    else
      table.insert(short, i)
      table.insert(short, q - left)
    end
  end
end
if #short > 1 then return answer(short, {}) end

local reply, alloc, named = {'ok'}, {}, false
for i = 1, n do
  local q = tonumber(ARGV[11 + i])
  table.insert(reply, redis.call('HINCRBY', KEYS[i], 'available', -q))
  redis.call('HINCRBY', KEYS[i], dest, q)
  local parts = {}
  for _, part in ipairs(drawn[i]) do
    if part[1] ~= 'default' then
      redis.call('HINCRBY', KEYS[i], 'available@' .. part[1], -part[2])
      redis.call('HINCRBY', KEYS[i], dest .. '@' .. part[1], part[2])
      named = true
    end
    table.insert(parts, part[1] .. '=' .. part[2])
  end
  local all_default = #drawn[i] == 1 and drawn[i][1][1] == 'default'
  alloc[i] = all_default and '' or table.concat(parts, ',')
  redis.call('XADD', KEYS[n + i], 'MAXLEN', '~', maxlen, '*',
    'kind', kind, 'ref', ref, 'quantity', q, 'at', at)
  raise_alerts(KEYS[i], alerts, string.match(KEYS[i], '{([^}]*)}$'), -q, at, maxlen)
end

-- Lines drawn from named locations are stored with their allocations (decoded lines,
-- patched in place).
local function allocate(lines)
  for i = 1, n do
    if alloc[i] ~= '' then
      local list = {}
      for _, part in ipairs(drawn[i]) do
        table.insert(list, {location = part[1], quantity = part[2]})
      end
      lines[i].allocations = list
    end
  end
  return lines
end

if mode == 'order' then
  local json = ARGV[record]
  if named then
    local order = cjson.decode(json)
    allocate(order.items)
    json = cjson.encode(order)
  end
  redis.call('SET', KEYS[2 * n + 1], json)
else
  local fields = {}
  for j = record, #ARGV do table.insert(fields, ARGV[j]) end
  for j = 1, #fields - 1, 2 do
    if named and fields[j] == 'items' then
      fields[j + 1] = cjson.encode(allocate(cjson.decode(fields[j + 1])))
    end
  end
  redis.call('HSET', KEYS[2 * n + 1], unpack(fields))
  redis.call('ZADD', KEYS[2 * n + 2], exp, ref)
end
if entry ~= '' then
  if named then
    local e = cjson.decode(entry)
    if e.lines then allocate(e.lines) end
    if e.order then allocate(e.order.items) end
    if e.reservation then allocate(e.reservation.items) end
    entry = cjson.encode(e)
  end
  redis.call('XADD', KEYS[2 * n + 3], '*', 'e', entry)
end
for i = 1, n do table.insert(reply, alloc[i]) end
return answer(reply, alloc)
