-- Takes stock out of `available` for a batch of carts, one buyer after another in arrival
-- order, each all or nothing, drawing each line from the SKU's locations (the pinned one, or
-- all of them in draw order), and leaves each buyer's order or reservation record. One
-- buyer is a batch of one (`--batching off`).
--
-- Three passes, so nothing is written until everything is read and decided: a script that
-- errors after a write keeps that write, and would leave buyers without their answers.
--   1. parse every buyer's keys and arguments;
--   2. decide every buyer against the levels read once per SKU, kept up to date in Lua as
--      earlier buyers in the batch take from them;
--   3. write what was decided, buyer by buyer, then each SKU's summed counters once.
-- With an idempotency key, a stored answer is replayed (an earlier buyer in the same batch
-- counts as stored), and a fresh answer (a refusal too) is stored with the effect.
-- The same decision as `Level::draw` in src/ops/level.rs: keep the two in step.
--
-- KEYS, per buyer: stock_1..n, moves_1..n, record, expiry, ledger feed, alerts, [idempotency]
-- ARGV: buyers, maxlen, then per buyer:
--       n, has_idempotency (0|1), record_args, destination ('sold'|'reserved'),
--       movement kind, ref, at_ms, mode ('order'|'reservation'), expires_at, fingerprint,
--       retention_ms, ledger entry ('' when the ledger is off), q_1..q_n,
--       pin_1..pin_n ('' = not pinned), then the record_args: the order JSON, or the
--       reservation's field/value pairs
-- Returns one reply per buyer, in order:
--       {'ok', remaining_1..n, alloc_1..n} | {'unknown_sku', i} | {'unknown_location', i}
--       | {'insufficient_stock', i, avail, ...} | {'replay', field, value, ...} | {'key_reused'}
-- alloc_i is 'east=3,west=2', or '' when the line came all from `default`.
-- `raise_alerts` comes from alerts.lua, which is prepended.

local buyers, maxlen = tonumber(ARGV[1]), ARGV[2]

-- 1. Parse.
local batch = {}
local k, a = 1, 3
for b = 1, buyers do
  local n, has_idem, nrec = tonumber(ARGV[a]), ARGV[a + 1] == '1', tonumber(ARGV[a + 2])
  if not n or n < 1 or not nrec then return redis.error_reply('take.lua: bad header of buyer ' .. b) end
  local t = {n = n, stock = {}, moves = {}, q = {}, qs = {}, pin = {}, rec = {}}
  for i = 1, n do
    t.stock[i], t.moves[i] = KEYS[k + i - 1], KEYS[k + n + i - 1]
  end
  t.record, t.expiry, t.feed, t.alerts = KEYS[k + 2 * n], KEYS[k + 2 * n + 1], KEYS[k + 2 * n + 2], KEYS[k + 2 * n + 3]
  if has_idem then t.idem = KEYS[k + 2 * n + 4] end
  k = k + 2 * n + 4 + (has_idem and 1 or 0)
  t.dest, t.kind, t.ref, t.at = ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
  t.mode, t.exp, t.fp, t.retention, t.entry = ARGV[a + 7], ARGV[a + 8], ARGV[a + 9], ARGV[a + 10], ARGV[a + 11]
  for i = 1, n do
    -- Kept as sent too: Lua turns a number back into a string with sprintf.
    t.qs[i], t.pin[i] = ARGV[a + 11 + i], ARGV[a + 11 + n + i]
    t.q[i] = tonumber(t.qs[i])
    if not t.q[i] or t.q[i] < 1 or not t.pin[i] then
      return redis.error_reply('take.lua: bad line ' .. i .. ' of buyer ' .. b)
    end
  end
  for j = 1, nrec do t.rec[j] = ARGV[a + 11 + 2 * n + j] end
  if not t.record or not t.rec[nrec] then return redis.error_reply('take.lua: short buyer ' .. b) end
  a = a + 12 + 2 * n + nrec
  batch[b] = t
end

-- 2. Decide. A SKU's level is read once per batch, as {available, places, rules}: its
-- locations in draw order as {name, available}, where `default` holds what the named ones
-- do not, and whether it has alert rules (without, a take skips the alert check).
local levels = {}
local function level(key)
  local l = levels[key]
  if l ~= nil then return l end
  local v = redis.call('HMGET', key, 'available', 'locs', 'low_threshold', 'reorder_point')
  if not v[1] then
    l = false
  else
    l = {available = tonumber(v[1]), places = {}, rules = v[3] or v[4]}
    if not v[2] then
      l.places[1] = {'default', l.available}
    else
      local named, default = 0, nil
      for name in string.gmatch(v[2], '[^,]+') do
        if name == 'default' then
          default = {name, 0}
          table.insert(l.places, default)
        else
          local avail = tonumber(redis.call('HGET', key, 'available@' .. name) or '0')
          named = named + avail
          table.insert(l.places, {name, avail})
        end
      end
      if default then default[2] = l.available - named end
    end
  end
  levels[key] = l
  return l
end

-- The answer stored under an idempotency key: the same fields as the Rust side's Receipt.
-- Called as decided, before the allocations join the reply.
local function stored_fields(t, reply, alloc)
  local nums = {}
  for j = 2, #reply do table.insert(nums, reply[j]) end
  return {'fp', t.fp, 'ref', t.ref, 'exp', t.exp, 'tag', reply[1], 'nums', table.concat(nums, ','),
    'attempts', 1, 'conflicts', 0, 'alloc', table.concat(alloc, ';')}
end

local answered = {}  -- idempotency key -> the stored fields of an earlier buyer in this batch
local function decide(t)
  if t.idem then
    local earlier = answered[t.idem]
    local stored = earlier and earlier[2] or redis.call('HGET', t.idem, 'fp')
    if stored then
      if stored ~= t.fp then return {'key_reused'} end
      local reply = {'replay'}
      for _, v in ipairs(earlier or redis.call('HGETALL', t.idem)) do table.insert(reply, v) end
      return reply
    end
  end
  local lv = {}
  for i = 1, t.n do
    lv[i] = level(t.stock[i])
    if not lv[i] then return {'unknown_sku', i}, {} end
  end
  local drawn, short = {}, {'insufficient_stock'}
  for i = 1, t.n do
    local q, pin = t.q[i], t.pin[i]
    if pin ~= '' then
      local found = nil
      for _, p in ipairs(lv[i].places) do if p[1] == pin then found = p end end
      if not found then return {'unknown_location', i}, {} end
      if found[2] >= q then
        drawn[i] = {{found, q}}
      else
        table.insert(short, i)
        table.insert(short, math.max(found[2], 0))
      end
    else
      local left, d = q, {}
      for _, p in ipairs(lv[i].places) do
        local take = math.min(p[2], left)
        if take > 0 then
          table.insert(d, {p, take})
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
  if #short > 1 then return short, {} end
  -- Taken: later buyers in the batch see what is left.
  local reply, alloc = {'ok'}, {}
  for i = 1, t.n do
    lv[i].available = lv[i].available - t.q[i]
    reply[i + 1] = lv[i].available
    local d = drawn[i]
    for _, part in ipairs(d) do part[1][2] = part[1][2] - part[2] end
    if #d == 1 and d[1][1][1] == 'default' then
      alloc[i] = ''  -- the common case: no string to build
    else
      local parts = {}
      for j, part in ipairs(d) do parts[j] = part[1][1] .. '=' .. part[2] end
      alloc[i] = table.concat(parts, ',')
    end
  end
  t.drawn = drawn
  return reply, alloc
end

local replies = {}
for b, t in ipairs(batch) do
  local reply, alloc = decide(t)
  t.reply, t.alloc = reply, alloc
  if alloc and t.idem then
    t.fields = stored_fields(t, reply, alloc)
    answered[t.idem] = t.fields
  end
  replies[b] = reply
end

-- 3. Write.
-- Lines drawn from named locations are stored with their allocations (decoded lines,
-- patched in place).
local function allocate(t, lines)
  for i = 1, t.n do
    if t.alloc[i] ~= '' then
      local list = {}
      for _, part in ipairs(t.drawn[i]) do
        table.insert(list, {location = part[1][1], quantity = part[2]})
      end
      lines[i].allocations = list
    end
  end
  return lines
end

-- Counter changes, summed per SKU over the batch and written once per field: a batch of
-- 50 buyers of one hot SKU makes two HINCRBYs, not a hundred. The script is atomic, so no
-- reader can tell. A SKU with alert rules is written take by take instead, so that each
-- alert reports the level its own take left.
local sums, touched = {}, {}
local function add(t, i, field, delta)
  local key = t.stock[i]
  if levels[key].rules then
    redis.call('HINCRBY', key, field, delta)
    return
  end
  local s = sums[key]
  if not s then
    s = {fields = {}, delta = {}}
    sums[key] = s
    table.insert(touched, key)
  end
  if not s.delta[field] then
    s.delta[field] = 0
    table.insert(s.fields, field)
  end
  s.delta[field] = s.delta[field] + delta
end

local function write(t)
  local named = false
  for i = 1, t.n do
    add(t, i, 'available', -t.q[i])
    add(t, i, t.dest, t.q[i])
    for _, part in ipairs(t.drawn[i]) do
      local place = part[1][1]
      if place ~= 'default' then
        add(t, i, 'available@' .. place, -part[2])
        add(t, i, t.dest .. '@' .. place, part[2])
        named = true
      end
    end
    redis.call('XADD', t.moves[i], 'MAXLEN', '~', maxlen, '*',
      'kind', t.kind, 'ref', t.ref, 'quantity', t.qs[i], 'at', t.at)
    if levels[t.stock[i]].rules then
      raise_alerts(t.stock[i], t.alerts, string.match(t.stock[i], '{([^}]*)}$'), -t.q[i], t.at, maxlen)
    end
  end
  if t.mode == 'order' then
    local json = t.rec[1]
    if named then
      local order = cjson.decode(json)
      allocate(t, order.items)
      json = cjson.encode(order)
    end
    redis.call('SET', t.record, json)
  else
    local fields = t.rec
    for j = 1, #fields - 1, 2 do
      if named and fields[j] == 'items' then
        fields[j + 1] = cjson.encode(allocate(t, cjson.decode(fields[j + 1])))
      end
    end
    redis.call('HSET', t.record, unpack(fields))
    redis.call('ZADD', t.expiry, t.exp, t.ref)
  end
  local entry = t.entry
  if entry ~= '' then
    if named then
      local e = cjson.decode(entry)
      if e.lines then allocate(t, e.lines) end
      if e.order then allocate(t, e.order.items) end
      if e.reservation then allocate(t, e.reservation.items) end
      entry = cjson.encode(e)
    end
    redis.call('XADD', t.feed, '*', 'e', entry)
  end
  for i = 1, t.n do table.insert(t.reply, t.alloc[i]) end
end

for _, t in ipairs(batch) do
  if t.reply[1] == 'ok' then write(t) end
  if t.fields then
    -- The stored answer carries the allocations; the reply now does too.
    redis.call('HSET', t.idem, unpack(t.fields))
    redis.call('PEXPIRE', t.idem, t.retention)
  end
end
for _, key in ipairs(touched) do
  local s = sums[key]
  for _, field in ipairs(s.fields) do
    redis.call('HINCRBY', key, field, s.delta[field])
  end
end
return replies
