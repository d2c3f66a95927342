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
  -- One constructor, every field the buyer will carry: a table grown field by field
  -- rehashes at each power of two. Keys and arguments stay where they are (KEYS[t.k ..],
  -- ARGV[t.a ..]); see the accessors below.
  local t = {
    n = n, k = k, a = a, nrec = nrec, q = {},
    record = KEYS[k + 2 * n], expiry = KEYS[k + 2 * n + 1], feed = KEYS[k + 2 * n + 2],
    alerts = KEYS[k + 2 * n + 3], idem = has_idem and KEYS[k + 2 * n + 4],
    dest = ARGV[a + 3], kind = ARGV[a + 4], ref = ARGV[a + 5], at = ARGV[a + 6],
    mode = ARGV[a + 7], exp = ARGV[a + 8], fp = ARGV[a + 9], retention = ARGV[a + 10],
    entry = ARGV[a + 11], reply = false, alloc = false, drawn = false, fields = false,
  }
  k = k + 2 * n + 4 + (has_idem and 1 or 0)
  for i = 1, n do
    local q = tonumber(ARGV[a + 11 + i])
    if not q or q < 1 or not ARGV[a + 11 + n + i] then
      return redis.error_reply('take.lua: bad line ' .. i .. ' of buyer ' .. b)
    end
    t.q[i] = q
  end
  if not t.record or not ARGV[a + 11 + 2 * n + nrec] then
    return redis.error_reply('take.lua: short buyer ' .. b)
  end
  a = a + 12 + 2 * n + nrec
  batch[b] = t
end

-- A buyer's line i: its stock key, its movements key, its quantity as sent (Lua would turn
-- the number back into a string with sprintf), and its pin ('' = not pinned).
local function stock(t, i) return KEYS[t.k + i - 1] end
local function moves(t, i) return KEYS[t.k + t.n + i - 1] end
local function sent(t, i) return ARGV[t.a + 11 + i] end
local function pin(t, i) return ARGV[t.a + 11 + t.n + i] end
-- The record's arguments: the order JSON, or the reservation's field/value pairs.
local function record_args(t)
  local first = t.a + 12 + 2 * t.n
  return {unpack(ARGV, first, first + t.nrec - 1)}
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
      -- The named locations' levels in one HMGET, not one HGET each.
      local fields = {}
      for name in string.gmatch(v[2], '[^,]+') do
        table.insert(l.places, {name, 0})
        if name ~= 'default' then table.insert(fields, 'available@' .. name) end
      end
      local got = #fields > 0 and redis.call('HMGET', key, unpack(fields)) or {}
      local named, j, default = 0, 0, nil
      for _, p in ipairs(l.places) do
        if p[1] == 'default' then
          default = p
        else
          j = j + 1
          p[2] = tonumber(got[j] or '0')
          named = named + p[2]
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

local scratch, none = {}, {}
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
  local lv = scratch  -- reused: decide runs once per buyer, and allocations add up
  for i = 1, t.n do
    lv[i] = level(stock(t, i))
    if not lv[i] then return {'unknown_sku', i}, {} end
  end
  -- drawn[i]: the line's parts as {place, quantity}, or false for a SKU whose only place is
  -- `default` (a v1 SKU: nothing to record). short: the refusal, made when first needed.
  local drawn, short = {}, nil
  for i = 1, t.n do
    local q, pinned, places = t.q[i], pin(t, i), lv[i].places
    if pinned == '' and #places == 1 then
      if places[1][2] >= q then
        drawn[i] = false
      else
        short = short or {'insufficient_stock'}
        table.insert(short, i)
        table.insert(short, math.max(places[1][2], 0))
      end
    elseif pinned ~= '' then
      local found = nil
      for _, p in ipairs(places) do if p[1] == pinned then found = p end end
      if not found then return {'unknown_location', i}, {} end
      if found[2] >= q then
        drawn[i] = {{found, q}}
      else
        short = short or {'insufficient_stock'}
        table.insert(short, i)
        table.insert(short, math.max(found[2], 0))
      end
    else
      local left, d = q, {}
      for _, p in ipairs(places) do
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
        short = short or {'insufficient_stock'}
        table.insert(short, i)
        table.insert(short, q - left)
      end
    end
  end
  if short then return short, {} end
  -- Taken: later buyers in the batch see what is left.
  local reply, alloc = {'ok'}, {}
  for i = 1, t.n do
    lv[i].available = lv[i].available - t.q[i]
    reply[i + 1] = lv[i].available
    local d = drawn[i]
    if not d then
      lv[i].places[1][2] = lv[i].places[1][2] - t.q[i]
      alloc[i] = ''
    else
      for _, part in ipairs(d) do part[1][2] = part[1][2] - part[2] end
      if #d == 1 and d[1][1][1] == 'default' then
        alloc[i] = ''
      else
        local parts = {}
        for j, part in ipairs(d) do parts[j] = part[1][1] .. '=' .. part[2] end
        alloc[i] = table.concat(parts, ',')
      end
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
-- Line i's allocations as serde writes them after its quantity, or '' for a line all from
-- `default` (stored as nothing). Location names are [A-Za-z0-9._-], so nothing to escape.
local function allocations_json(t, i)
  if t.alloc[i] == '' then return '' end
  local parts = {}
  for j, part in ipairs(t.drawn[i]) do
    parts[j] = '{"location":"' .. part[1][1] .. '","quantity":' .. part[2] .. '}'
  end
  return ',"allocations":[' .. table.concat(parts, ',') .. ']'
end

-- `json` as the Rust side wrote it (an order, a reservation's items, a ledger entry), with
-- each line's allocations spliced in after its quantity: no decode and re-encode. Every
-- `,"quantity":` in these documents is a line's key (inside a JSON string `"` is escaped,
-- and no other object in them has a quantity), lines come in line order, list after list
-- (an entry holds its lines and its record's), and a line ends at the next `}`.
-- `stockroom::allocations_are_stored_in_one_form_on_every_path` pins it.
local function splice(t, json, frags)
  local out, from, i = {}, 1, 0
  while true do
    local at = string.find(json, ',"quantity":', from, true)
    local close = at and string.find(json, '}', at, true)
    if not close then break end
    i = i % t.n + 1
    out[#out + 1] = string.sub(json, from, close - 1)
    out[#out + 1] = frags[i]
    from = close
  end
  out[#out + 1] = string.sub(json, from)
  return table.concat(out)
end

-- Counter changes, summed per SKU over the batch and written once per field: a batch of
-- 50 buyers of one hot SKU makes two HINCRBYs, not a hundred. The script is atomic, so no
-- reader can tell. A SKU with alert rules is written take by take instead, so that each
-- alert reports the level its own take left.
local sums, touched = {}, {}
local function add(t, i, field, delta)
  local key = stock(t, i)
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
    for _, part in ipairs(t.drawn[i] or none) do
      local place = part[1][1]
      if place ~= 'default' then
        add(t, i, 'available@' .. place, -part[2])
        add(t, i, t.dest .. '@' .. place, part[2])
        named = true
      end
    end
    redis.call('XADD', moves(t, i), 'MAXLEN', '~', maxlen, '*',
      'kind', t.kind, 'ref', t.ref, 'quantity', sent(t, i), 'at', t.at)
    local key = stock(t, i)
    if levels[key].rules then
      raise_alerts(key, t.alerts, string.match(key, '{([^}]*)}$'), -t.q[i], t.at, maxlen)
    end
  end
  local frags
  if named then
    frags = {}
    for i = 1, t.n do frags[i] = allocations_json(t, i) end
  end
  if t.mode == 'order' then
    local json = ARGV[t.a + 12 + 2 * t.n]
    redis.call('SET', t.record, named and splice(t, json, frags) or json)
  else
    local fields = record_args(t)
    for j = 1, #fields - 1, 2 do
      if named and fields[j] == 'items' then fields[j + 1] = splice(t, fields[j + 1], frags) end
    end
    redis.call('HSET', t.record, unpack(fields))
    redis.call('ZADD', t.expiry, t.exp, t.ref)
  end
  if t.entry ~= '' then
    redis.call('XADD', t.feed, '*', 'e', named and splice(t, t.entry, frags) or t.entry)
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
