-- Takes stock out of `available` for a batch of carts, one buyer after another in arrival
-- order, each all or nothing, drawing each line from the SKU's locations (the pinned one, or
-- all of them in draw order), and leaves each buyer's order or reservation record. One
-- buyer is a batch of one (`--batching off`).
--
-- Three passes, so nothing is written until everything is read and decided: a script that
-- errors after a write keeps that write, and would leave buyers without their answers.
--   1. parse: where each buyer's keys, arguments and lines start;
--   2. decide every buyer against the levels read once per SKU, kept up to date in Lua as
--      earlier buyers in the batch take from them;
--   3. write what was decided, buyer by buyer, then what they share once: the orders (one
--      MSET), the holds' expiry entries (one ZADD), each history list's movements (one
--      LPUSH) and each SKU's summed counters.
-- With an idempotency key, a stored answer is replayed (an earlier buyer in the same batch
-- counts as stored), and a fresh answer (a refusal too) is stored with the effect.
-- The same decision as `Level::draw` in crates/ops/src/level.rs: keep the two in step.
--
-- The argument layout is declared once, in crates/ops/src/take/lua_layout.rs, and the `S_*`
-- (the keys the batch shares), `B_*` (the batch's header), `A_*` (a buyer's header) and `K_*`
-- (a buyer's keys after its lines) offsets used here are generated from that declaration and
-- prepended, with alerts.lua's `raise_alerts`.
-- ARGV: the batch header, then per buyer: its header, q_1..q_n, pin_1..pin_n ('' = not
--       pinned), then A_RECORD_ARGS arguments: the order JSON, or the reservation's
--       field/value pairs, then the optional arguments its A_EXTRAS names, in this order:
--       'i' (an idempotency key): the request's fingerprint and the stored answer's
--       lifetime in ms; 'e': its ledger entry; 'a': the admissions its request presented.
--       A plain purchase has none (A_EXTRAS ''): every argument is a string Redis makes
--       for every buyer, whether the script reads it or not.
-- KEYS: the S_* keys every buyer shares (the slot's feed, alert stream and low-stock index),
--       then per buyer: stock_1..n, history_1..n, then the K_* keys (K_IDEMPOTENCY only
--       when the buyer's A_EXTRAS has 'i').
-- Returns one string: each buyer's reply in order, joined by BUYER_SEPARATOR, its fields
-- joined by FIELD_SEPARATOR (numbers as integers' text). A reply is one of:
--       {'ok', remaining_1..n, alloc_1..n} | {'unknown_sku', i} | {'unknown_location', i}
--       | {'insufficient_stock', i, avail, ...} | {'not_on_sale', i, closed, at, now}
--       | {'limit_exceeded', i, holds, limit, already}
--       | {'admission_required', i} | {'admission_invalid', i}
--       | {'replay', field, value, ...} | {'key_reused'}
-- alloc_i is 'east=3,west=2', or '' when the line came all from `default`.
--
-- A SKU with sale settings (its stock hash's `sale`: `opens,closes,limit,holds,rate,ttl`,
-- see crates/ops/src/sale.rs) is gated before its stock is drawn: Redis's clock (TIME)
-- against the window; with a waiting room (rate), the buyer's admissions (extra 'a':
-- '' when the request presented none, else '+' then ';SKU:UNTIL' per verified admission
-- of its customer); then the customer's counts in the SKU's `…:customers` hash against
-- the limits.
-- That hash is named from the stock key (same hash tag, so the same slot as every declared
-- key): declaring it for every buyer would cost every take, and only drops use it. The
-- customer is read from the record's own arguments, for the same reason.
--
-- Written for a cheap call: every table and closure is an allocation the Lua collector pays
-- for again, so per buyer this makes one reply table and little else. Buyers live in one
-- flat array, levels in per-batch maps, and the locations' tables exist only for SKUs that
-- have named locations.

-- The globals read for every buyer, as locals: reading a global is a lookup in the globals'
-- table each time, a local is a register.
local KEYS, ARGV, redis, string, tonumber, ipairs, unpack = KEYS, ARGV, redis, string, tonumber, ipairs, unpack

local buyers, maxlen = tonumber(ARGV[1 + B_BUYERS]), tonumber(ARGV[1 + B_MAXLEN])
local marked = ARGV[1 + B_MARKED] == '1'
if not buyers then return redis.error_reply('take.lua: bad batch header') end

-- 1. Parse. Buyer b's first key, first argument, line count and line base (its lines are
-- base + 1 .. base + n across the batch) are at[4b-3 .. 4b]; qty[line] is each quantity.
local at, qty = {}, {}
-- The small counts most headers and quantities hold, by their text: a lookup here costs a
-- fraction of tonumber(), which parses with strtod.
local SMALL = {['0'] = 0, ['1'] = 1, ['2'] = 2, ['3'] = 3, ['4'] = 4, ['5'] = 5, ['6'] = 6, ['7'] = 7,
  ['8'] = 8, ['9'] = 9}
local function count(s) return SMALL[s] or tonumber(s) end
-- An integer as Redis's argument text: a Lua number given to redis.call is formatted as a
-- float ("%.17g"), which costs Redis several times more. Each value is formatted once per
-- call (`texts[n] or int(n)`): most deltas are the same few small numbers.
local texts = {}
local function int(n)
  local text = string.format('%d', n)
  texts[n] = text
  return text
end
-- Where buyer b's optional argument `flag` ('i', 'e' or 'a') is in ARGV, or nil without it.
-- EXTRA_ARGS (generated with the offsets) is how many arguments each letter brings.
local function extra(b, flag)
  local a, n = at[4 * b - 2], at[4 * b - 1]
  local extras = ARGV[a + A_EXTRAS]
  local place = extras ~= '' and string.find(extras, flag, 1, true)
  if not place then return nil end
  local j = a + A_COUNT + 2 * n + count(ARGV[a + A_RECORD_ARGS])
  for p = 1, place - 1 do j = j + EXTRA_ARGS[string.sub(extras, p, p)] end
  return j
end
local feed, alerts, low = KEYS[1 + S_FEED], KEYS[1 + S_ALERTS], KEYS[1 + S_LOW]
local k, a, base = 1 + S_COUNT, 1 + B_COUNT, 0
for b = 1, buyers do
  local n, nrec = count(ARGV[a + A_LINES]), count(ARGV[a + A_RECORD_ARGS])
  if not n or n < 1 or not nrec then return redis.error_reply('take.lua: bad header of buyer ' .. b) end
  at[4 * b - 3], at[4 * b - 2], at[4 * b - 1], at[4 * b] = k, a, n, base
  for i = 1, n do
    local q = count(ARGV[a + A_COUNT + i - 1])
    if not q or q < 1 or not ARGV[a + A_COUNT + n + i - 1] then
      return redis.error_reply('take.lua: bad line ' .. i .. ' of buyer ' .. b)
    end
    qty[base + i] = q
  end
  base = base + n
  -- K_IDEMPOTENCY is the last key, present only with an idempotency key.
  local extras, more = ARGV[a + A_EXTRAS], 0
  if not extras then return redis.error_reply('take.lua: short buyer ' .. b) end
  for p = 1, #extras do
    local m = EXTRA_ARGS[string.sub(extras, p, p)]
    if not m then return redis.error_reply('take.lua: bad extras of buyer ' .. b) end
    more = more + m
  end
  k = k + 2 * n + K_IDEMPOTENCY + (extras ~= '' and string.find(extras, 'i', 1, true) and 1 or 0)
  a = a + A_COUNT + 2 * n + nrec + more
  if not KEYS[k - 1] or not ARGV[a - 1] then return redis.error_reply('take.lua: short buyer ' .. b) end
end

-- 2. Decide. Per stock key, read once per batch: `avail` its total sellable (`available`
-- less `safety`; false: no such SKU), `ruled` true when it has alert rules (without, a take skips the alert check),
-- and `places`, only for a SKU with named locations, its locations in draw order as
-- {name, sellable, sellable as read}, where `default` holds what the named ones do not;
-- `low_t` its low-stock threshold.
-- The settings (SETTINGS: locs, low_threshold, reorder_point, sale, safety, pre) are
-- v[2] .. v[7]. On a marked store (`marked`, see crates/ops/src/settings_mark.rs) they are
-- read only for a SKU with the mark: a field a hash lacks costs Redis a scan of the hash,
-- and most SKUs have none of them.
local avail, ruled, places, sale, pre, low_t = {}, {}, {}, {}, {}, {}
local function read_level(key)
  local v
  if marked then
    v = redis.call('HMGET', key, 'available', MARK)
    -- Without the mark v[2] is false, as an unset `locs` would be, and v[3] .. v[7] nil.
    if v[2] then v = redis.call('HMGET', key, 'available', unpack(SETTINGS)) end
  else
    v = redis.call('HMGET', key, 'available', unpack(SETTINGS))
  end
  if not v[1] then
    avail[key] = false
    return
  end
  -- What takes see: `available` less the safety stock kept back.
  avail[key] = v[6] and tonumber(v[1]) - tonumber(v[6]) or tonumber(v[1])
  if v[3] or v[4] then ruled[key] = true end
  -- Only when set: even a nil stored under a new key makes the table grow a slot for it.
  if v[3] then low_t[key] = tonumber(v[3]) end
  -- Preorders on: the limit, or true without one.
  if v[7] then pre[key] = tonumber(v[7]) or true end
  if v[5] then
    -- opens, closes (epoch ms), limit, holds, admissions a second; nil where not set.
    local o, c, l, h, r = string.match(v[5], '^([^,]*),([^,]*),([^,]*),([^,]*),?([^,]*)')
    sale[key] = {tonumber(o), tonumber(c), tonumber(l), tonumber(h), tonumber(r)}
  end
  if not v[2] then return end
  -- The named locations' levels in one HMGET, not one HGET each.
  local list, fields = {}, {}
  for name in string.gmatch(v[2], '[^,]+') do
    list[#list + 1] = {name, 0}
    if name ~= 'default' then
      fields[#fields + 1] = 'available@' .. name
      fields[#fields + 1] = 'safety@' .. name
    end
  end
  local got = #fields > 0 and redis.call('HMGET', key, unpack(fields)) or {}
  local named, j, default = 0, 0, nil
  for _, p in ipairs(list) do
    if p[1] == 'default' then
      default = p
    else
      j = j + 2
      p[2] = tonumber(got[j - 1] or '0') - tonumber(got[j] or '0')
      named = named + p[2]
    end
  end
  if default then default[2] = avail[key] - named end
  for _, p in ipairs(list) do p[3] = p[2] end
  places[key] = list
end

-- Draws line `line` (q units, pinned to `pin` or not) from a SKU's locations: its parts as
-- {place, quantity}, or nil and what refuses it ('unknown_location', or what was there).
local function draw(list, q, pin)
  if pin ~= '' then
    for _, p in ipairs(list) do
      if p[1] == pin then
        if p[2] >= q then return {{p, q}} end
        return nil, math.max(p[2], 0)
      end
    end
    return nil, 'unknown_location'
  end
  local left, parts = q, {}
  for _, p in ipairs(list) do
    local take = math.min(p[2], left)
    if take > 0 then
      parts[#parts + 1] = {p, take}
      left = left - take
    end
    if left == 0 then return parts end
  end
  return nil, q - left
end

-- line -> its parts, for lines drawn from a SKU with named locations; read only for buyers
-- whose take went through.
local drawn = {}

-- The drop's gate. `now`: Redis's clock in ms, read once, when a sale first needs it.
-- `counts[key][user]`: {units, active holds}, read once and kept up to date as buyers take.
-- `counted[line]`: the customer's counts, for a line whose take they limit: bumped when
-- the take goes through, and written for it.
local now, counts, counted, users = nil, {}, {}, {}
local function clock()
  if not now then
    -- Scripts of Redis before 5 replicate their effects only when asked (7 ignores this).
    if redis.replicate_commands then redis.replicate_commands() end
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return now
end
-- `holds[b]`: whether buyer b's take counts as a hold: a reservation, but not a cross-slot
-- checkout's part (`saga_kind` `order`), which is sold as soon as its saga commits.
local holds = {}
local function user_of(b)
  if users[b] then return users[b] end
  local a, n = at[4 * b - 2], at[4 * b - 1]
  local first = a + A_COUNT + 2 * n
  holds[b] = ARGV[a + A_MODE] ~= 'order'
  if not holds[b] then
    users[b] = cjson.decode(ARGV[first]).user_id
  else
    for j = first, first + tonumber(ARGV[a + A_RECORD_ARGS]) - 2, 2 do
      if ARGV[j] == 'user_id' then users[b] = ARGV[j + 1] end
      if ARGV[j] == 'saga_kind' and ARGV[j + 1] == 'order' then holds[b] = false end
    end
  end
  return users[b]
end
local function count_of(key, user)
  local per = counts[key]
  if not per then
    per = {}
    counts[key] = per
  end
  local c = per[user]
  if not c then
    local v = redis.call('HMGET', key .. ':customers', 'u:' .. user, 'h:' .. user)
    c = {tonumber(v[1]) or 0, tonumber(v[2]) or 0}
    per[user] = c
  end
  return c
end
-- Buyer b's refusal by a sale (window first, then limits), or nil; when it passes, the
-- counts it takes are kept for the buyers after it.
local function gate(b, k, a, n, base)
  for i = 1, n do
    local s = sale[KEYS[k + i - 1]]
    if s and (s[1] or s[2]) then
      local t = clock()
      if s[1] and t < s[1] then return {'not_on_sale', i, 0, s[1], t} end
      if s[2] and t >= s[2] then return {'not_on_sale', i, 1, s[2], t} end
    end
  end
  local j = extra(b, 'a')
  local admissions = j and ARGV[j] or ''
  for i = 1, n do
    local key = KEYS[k + i - 1]
    local s = sale[key]
    if s and s[5] then
      local name, admitted = string.match(key, '{([^}]*)}$'), false
      for sku, til in string.gmatch(admissions, ';([^:;]+):(%d+)') do
        if sku == name and clock() < tonumber(til) then admitted = true end
      end
      if not admitted then
        return {admissions == '' and 'admission_required' or 'admission_invalid', i}
      end
    end
  end
  local user = user_of(b)
  local hold = holds[b]
  for i = 1, n do
    local key = KEYS[k + i - 1]
    local s = sale[key]
    if s and (s[3] or s[4]) then
      local c = count_of(key, user)
      if s[3] and c[1] + qty[base + i] > s[3] then return {'limit_exceeded', i, 0, s[3], c[1]} end
      if s[4] and hold and c[2] + 1 > s[4] then return {'limit_exceeded', i, 1, s[4], c[2]} end
      -- Read only for a take that goes through (the writes are for `ok` buyers alone).
      counted[base + i] = c
    end
  end
  return nil
end
-- Preorders (crates/ops/src/purchase_order.rs holds the format and the same rules): a
-- SKU's purchase orders, read once per batch and only when a line of it falls short with
-- preorders on, soonest expected first, as {ref, location, room, next, filled, head, queue}
-- with `preordered[key]` their units waiting. `queued[line]`: the order a line's preorder
-- waits for, and its position; `dirty`: orders whose field is written at the end.
local orders, preordered, queued, dirty = {}, {}, {}, {}
local function read_orders(key)
  local list, total, all = {}, 0, redis.call('HGETALL', key)
  for j = 1, #all - 1, 2 do
    local ref = string.match(all[j], '^po:(.+)$')
    if ref then
      local head, queue = string.match(all[j + 1], '^([^;]*);?(.*)$')
      local q, got, at, loc, nxt, fil = string.match(head, '^(%-?%d+),(%-?%d+),(%-?%d+),([^,]+),?(%d*),?(%d*)$')
      local o = {ref, loc, tonumber(q) - tonumber(got), tonumber(nxt) or 0, tonumber(fil) or 0,
        q .. ',' .. got .. ',' .. at .. ',' .. loc, queue, tonumber(at)}
      for s, n in string.gmatch(queue, '(%d+):(%d+)') do
        s, n = tonumber(s), tonumber(n)
        local waiting = math.min(math.max(s + n - math.max(o[5], s), 0), n)
        o[3] = o[3] - waiting
        total = total + waiting
      end
      list[#list + 1] = o
    end
  end
  -- Ties by reference in byte order, as Rust's `str` order: Lua's `<` on strings follows
  -- the server's locale (redis-server sets LC_COLLATE from its environment), and under
  -- en_US 'a' < 'B', which would queue preorders on another order than `watch` does.
  table.sort(list, function(x, y)
    if x[8] ~= y[8] then return x[8] < y[8] end
    local a, b = x[1], y[1]
    for i = 1, math.min(#a, #b) do
      local p, q = string.byte(a, i), string.byte(b, i)
      if p ~= q then return p < q end
    end
    return #a < #b
  end)
  orders[key], preordered[key] = list, total
end
-- The order that takes a preorder of q units (at `pin` when given), or nil.
local function preorder(key, q, pin)
  if not orders[key] then read_orders(key) end
  local limit = pre[key]
  if limit ~= true and preordered[key] + q > limit then return nil end
  for _, o in ipairs(orders[key]) do
    if (pin == '' or pin == o[2]) and o[3] >= q then return o end
  end
  return nil
end

-- Buyer b's reply: taken, refused or unknown. Takes from the levels only when taken.
local function decide(b)
  local k, a, n, base = at[4 * b - 3], at[4 * b - 2], at[4 * b - 1], at[4 * b]
  for i = 1, n do
    local key = KEYS[k + i - 1]
    if avail[key] == nil then read_level(key) end
    if not avail[key] then return {'unknown_sku', i} end
  end
  local gated = false
  for i = 1, n do
    if sale[KEYS[k + i - 1]] then gated = true end
  end
  if gated then
    local refused = gate(b, k, a, n, base)
    if refused then return refused end
  end
  local short = nil
  for i = 1, n do
    local key, q, pin = KEYS[k + i - 1], qty[base + i], ARGV[a + A_COUNT + n + i - 1]
    local list, lacking = places[key], nil
    if list then
      local parts, refusal = draw(list, q, pin)
      if refusal == 'unknown_location' then return {'unknown_location', i} end
      if parts then
        drawn[base + i] = parts
      else
        lacking = refusal
      end
    elseif pin ~= '' and pin ~= 'default' then
      return {'unknown_location', i}
    elseif avail[key] < q then
      lacking = math.max(avail[key], 0)
    end
    if lacking then
      -- What the shelf cannot cover may be preordered whole, when the SKU allows it.
      local o = pre[key] and preorder(key, q, pin)
      if o then
        queued[base + i] = o
      else
        short = short or {'insufficient_stock'}
        short[#short + 1], short[#short + 2] = i, lacking
      end
    end
  end
  if short then return short end
  if gated then
    for i = 1, n do
      local c = counted[base + i]
      if c then
        c[1] = c[1] + qty[base + i]
        if holds[b] then c[2] = c[2] + 1 end
      end
    end
  end
  -- Taken: later buyers in the batch see what is left.
  -- Sized at once for a cart of one line: a table grown slot by slot is rebuilt as it grows.
  local reply = n == 1 and {'ok', false, false} or {'ok'}
  for i = 1, n do
    local key, q, parts, o = KEYS[k + i - 1], qty[base + i], drawn[base + i], queued[base + i]
    local alloc = ''
    if o then
      -- Queued on its purchase order: its position is the units preordered on it before.
      local position = o[4]
      queued[base + i] = {o, position}
      o[3], o[4] = o[3] - q, o[4] + q
      o[7] = o[7] == '' and (position .. ':' .. q) or (o[7] .. ',' .. position .. ':' .. q)
      preordered[key] = preordered[key] + q
      if not dirty[o] then
        dirty[o] = key
        dirty[#dirty + 1] = o
      end
      parts = nil
      alloc = o[2] .. '=' .. q .. '@' .. o[1] .. ':' .. position
    else
      avail[key] = avail[key] - q
    end
    reply[1 + i] = string.format('%d', avail[key])
    if parts then
      for _, part in ipairs(parts) do part[1][2] = part[1][2] - part[2] end
      if not (#parts == 1 and parts[1][1][1] == 'default') then
        local text = {}
        for j, part in ipairs(parts) do text[j] = part[1][1] .. '=' .. part[2] end
        alloc = table.concat(text, ',')
      end
    end
    reply[1 + n + i] = alloc
  end
  return reply
end

-- The answer stored under an idempotency key: the same fields as the Rust side's Receipt.
local function stored_fields(b, a, n, reply)
  local nums, alloc = {}, ''
  if reply[1] == 'ok' then
    for i = 1, n do nums[i] = reply[1 + i] end
    alloc = table.concat(reply, ';', 2 + n, 1 + 2 * n)
  else
    for j = 2, #reply do nums[j - 1] = reply[j] end
  end
  return {'fp', ARGV[extra(b, 'i')], 'ref', ARGV[a + A_REFERENCE], 'exp', ARGV[a + A_EXPIRES_AT],
    'tag', reply[1], 'nums', table.concat(nums, ','), 'attempts', 1, 'conflicts', 0, 'alloc', alloc}
end

local replies = {}
local stored = {}  -- buyer -> the fields to store under its idempotency key
local answered = {}  -- idempotency key -> the stored fields of an earlier buyer in this batch
for b = 1, buyers do
  local k, a, n = at[4 * b - 3], at[4 * b - 2], at[4 * b - 1]
  local extras = ARGV[a + A_EXTRAS]
  local idem = extras ~= '' and string.find(extras, 'i', 1, true) and KEYS[k + 2 * n + K_IDEMPOTENCY]
  local reply = nil
  if idem then
    local earlier = answered[idem]
    local fp = earlier and earlier[2] or redis.call('HGET', idem, 'fp')
    if fp and fp ~= ARGV[extra(b, 'i')] then
      reply = {'key_reused'}
    elseif fp then
      reply = {'replay'}
      for _, v in ipairs(earlier or redis.call('HGETALL', idem)) do reply[#reply + 1] = v end
    end
  end
  if not reply then
    reply = decide(b)
    if idem then
      stored[b] = stored_fields(b, a, n, reply)
      answered[idem] = stored[b]
    end
  end
  replies[b] = reply
end

-- 3. Write.
-- `json` as the Rust side wrote it (an order, a reservation's items, a ledger entry), with
-- each line's allocations spliced in after its quantity: no decode and re-encode. The Rust
-- side declares the contract (`LINE_QUANTITY` in take/lua_layout.rs, which writes it into this
-- script's header) and tests its half: every LINE_QUANTITY in these documents is a line's
-- last key (inside a JSON string `"` is escaped, and no other object in them has it), so
-- a line ends at the next `}`; lines come in line order, list after list (an entry holds
-- its lines and its record's). `stockroom::allocations_are_stored_in_one_form_on_every_path`
-- checks the whole round trip.
local function splice(json, base, n)
  local out, from, i = {}, 1, 0
  while true do
    local found = string.find(json, LINE_QUANTITY, from, true)
    local close = found and string.find(json, '}', found, true)
    if not close then break end
    i = i % n + 1
    out[#out + 1] = string.sub(json, from, close - 1)
    local parts, o = drawn[base + i], queued[base + i]
    if o then
      -- Reference alphabets have nothing to escape either.
      out[#out + 1] = ',"allocations":[{"location":"' .. o[1][2] .. '","quantity":' .. qty[base + i] ..
        ',"purchase_order":"' .. o[1][1] .. '","position":' .. o[2] .. '}]'
    elseif parts and not (#parts == 1 and parts[1][1][1] == 'default') then
      local text = {}
      for j, part in ipairs(parts) do
        -- Location names are [A-Za-z0-9._-]: nothing to escape.
        text[j] = '{"location":"' .. part[1][1] .. '","quantity":' .. part[2] .. '}'
      end
      out[#out + 1] = ',"allocations":[' .. table.concat(text, ',') .. ']'
    end
    from = close
  end
  out[#out + 1] = string.sub(json, from)
  return table.concat(out)
end

-- Counter changes, summed per SKU over the batch and written once per field: a batch of 50
-- buyers of one hot SKU makes two HINCRBYs, not a hundred. The script is atomic, so no
-- reader can tell. A SKU with alert rules is written take by take instead, so that each
-- alert reports the level its own take left. `took`: units out of `available` per key, in
-- the order `touched` (every summed key: each take moves `available`, a preorder by 0); `into[field][key]`:
-- units into every other field.
local took, touched, into, fields = {}, {}, {}, {}
-- The batch's movements per history list (`pushes[log]`, lists in order of first push:
-- `pushed`) and its orders as key, JSON pairs (`orders`): each list gets one LPUSH, the
-- orders one MSET, after every buyer is written. A call from the script costs Redis about as
-- much as the write it makes, and nothing in the script reads them back. LPUSH of many
-- values leaves the list as one push per value would.
local pushes, pushed, orders = {}, {}, {}
-- And the holds' entries in their expiry index (a batch's holds share their slot's): one ZADD.
local expiring, indexes = {}, {}
-- The SKUs with a threshold and named locations this batch took from (their low-stock key),
-- in order: their locations' index entries are written once, at the end.
local relow = {}
-- The table `map[key]`, made on first use, when `key` joins `order`.
local function table_in(map, order, key)
  local t = map[key]
  if not t then
    t = {}
    map[key] = t
    order[#order + 1] = key
  end
  return t
end
local function add(key, field, delta)
  if ruled[key] then
    redis.call('HINCRBY', key, field, texts[delta] or int(delta))
  elseif field == 'available' then
    local t = took[key]
    if not t then
      t = 0
      touched[#touched + 1] = key
    end
    took[key] = t - delta
  else
    local sums = table_in(into, fields, field)
    sums[key] = (sums[key] or 0) + delta
  end
end

for b = 1, buyers do
  local k, a, n, base = at[4 * b - 3], at[4 * b - 2], at[4 * b - 1], at[4 * b]
  if replies[b][1] == 'ok' then
    local dest, named = ARGV[a + A_MODE] == 'order' and 'sold' or 'reserved', false
    for i = 1, n do
      local key, q, o = KEYS[k + i - 1], qty[base + i], queued[base + i]
      local parts = drawn[base + i]
      if o then
        -- A preorder's units come from no shelf: they wait for their purchase order. (No
        -- units out of `available`, but the key is listed for the summed writes.)
        add(key, 'available', 0)
        add(key, dest, q)
        if o[1][2] ~= 'default' then add(key, dest .. '@' .. o[1][2], q) end
        named, parts = true, nil
      else
        add(key, 'available', -q)
        add(key, dest, q)
      end
      for j = 1, parts and #parts or 0 do
        local place, units = parts[j][1][1], parts[j][2]
        if place ~= 'default' then
          add(key, 'available@' .. place, -units)
          add(key, dest .. '@' .. place, units)
          named = true
        end
      end
      -- The movement, in the history list's format (crates/ops/src/movements.rs).
      local log = KEYS[k + n + i - 1]
      local entry = ARGV[a + A_KIND] .. ' ' .. ARGV[a + A_COUNT + i - 1] .. ' ' .. ARGV[a + A_REFERENCE] ..
        ' ' .. ARGV[a + A_AT_MS]
      if o then entry = entry .. ' po=' .. o[1][1] end
      local list = pushes[log]
      if list then
        list[#list + 1] = entry
      else
        pushes[log] = {entry}
        pushed[#pushed + 1] = log
      end
      add(key, 'moved', 1)
      if counted[base + i] then
        redis.call('HINCRBY', key .. ':customers', 'u:' .. users[b], q)
        if holds[b] then redis.call('HINCRBY', key .. ':customers', 'h:' .. users[b], 1) end
      end
      if ruled[key] and not o then
        raise_alerts(key, alerts, low,
          string.match(key, '{([^}]*)}$'), -q,
          ARGV[a + A_AT_MS], maxlen)
        if low_t[key] and places[key] and not relow[key] then
          relow[key] = low
          relow[#relow + 1] = key
        end
      end
    end
    local record, first = KEYS[k + 2 * n + K_RECORD], a + A_COUNT + 2 * n
    if ARGV[a + A_MODE] == 'order' then
      orders[#orders + 1] = record
      orders[#orders + 1] = named and splice(ARGV[first], base, n) or ARGV[first]
    else
      local last = first + tonumber(ARGV[a + A_RECORD_ARGS]) - 1
      if named then
        local kv = {unpack(ARGV, first, last)}
        for j = 1, #kv - 1, 2 do
          if kv[j] == 'items' then kv[j + 1] = splice(kv[j + 1], base, n) end
        end
        redis.call('HSET', record, unpack(kv))
      else
        redis.call('HSET', record, unpack(ARGV, first, last))
      end
      local entries = table_in(expiring, indexes, KEYS[k + 2 * n + K_EXPIRY])
      entries[#entries + 1] = ARGV[a + A_EXPIRES_AT]
      entries[#entries + 1] = ARGV[a + A_REFERENCE]
      -- The SKUs whose count the hold took, for its release (`Reservation::end`).
      local skus = {}
      for i = 1, n do
        if counted[base + i] then skus[#skus + 1] = string.match(KEYS[k + i - 1], '{([^}]*)}$') end
      end
      if #skus > 0 then redis.call('HSET', record, 'counted', table.concat(skus, ',')) end
    end
    local j = ARGV[a + A_EXTRAS] ~= '' and extra(b, 'e')
    local entry = j and ARGV[j]
    if entry then
      redis.call('XADD', feed, '*', 'e', named and splice(entry, base, n) or entry)
    end
  end
  if stored[b] then
    -- The stored answer carries the allocations, as the reply does.
    redis.call('HSET', KEYS[k + 2 * n + K_IDEMPOTENCY], unpack(stored[b]))
    redis.call('PEXPIRE', KEYS[k + 2 * n + K_IDEMPOTENCY], ARGV[extra(b, 'i') + 1])
  end
end
-- Each purchase order the batch's preorders queued on, written once, as they left it.
for _, o in ipairs(dirty) do
  redis.call('HSET', dirty[o], 'po:' .. o[1], o[6] .. ',' .. o[4] .. ',' .. o[5] .. ';' .. o[7])
end
-- `cmd` with `key` (if any), then `values`, in calls of at most 1,000 values: Lua's unpack()
-- is bounded by its C stack. Answers the last call's reply.
local function call_all(cmd, key, values)
  local reply
  for i = 1, #values, 1000 do
    local j = math.min(i + 999, #values)
    if key then
      reply = redis.call(cmd, key, unpack(values, i, j))
    else
      reply = redis.call(cmd, unpack(values, i, j))
    end
  end
  return reply
end
call_all('MSET', nil, orders)
for _, index in ipairs(indexes) do
  call_all('ZADD', index, expiring[index])
end
-- Each history list gets its movements in one push, and is trimmed to its cap only when
-- that push took it over (most leave it under: no LTRIM at all).
for _, log in ipairs(pushed) do
  if call_all('LPUSH', log, pushes[log]) > maxlen then redis.call('LTRIM', log, 0, maxlen - 1) end
end
-- Each location that moved within the low range or across its edge, as the batch left it
-- (the alert check keeps the total, and `default` of a SKU without named locations).
for _, key in ipairs(relow) do
  local sku, t = string.match(key, '{([^}]*)}$'), low_t[key]
  for _, p in ipairs(places[key]) do
    if p[2] ~= p[3] and (p[2] < t or p[3] < t) then index_low(relow[key] .. ':at:' .. p[1], sku, p[2], t) end
  end
end
for _, key in ipairs(touched) do
  local d = -took[key]
  if d ~= 0 then redis.call('HINCRBY', key, 'available', texts[d] or int(d)) end
  for _, field in ipairs(fields) do
    local delta = into[field][key]
    if delta then redis.call('HINCRBY', key, field, texts[delta] or int(delta)) end
  end
end
-- One string for the batch (lua_layout.rs, BUYER_SEPARATOR): a RESP value to parse,
-- not an array of about four a buyer. Numbers as integers' text (a taken buyer's levels
-- are text already; a refusal's numbers are made text here).
for b = 1, buyers do
  local reply = replies[b]
  if reply[1] ~= 'ok' then
    for j = 2, #reply do
      if type(reply[j]) == 'number' then reply[j] = string.format('%d', reply[j]) end
    end
  end
  replies[b] = table.concat(reply, FIELD_SEPARATOR)
end
return table.concat(replies, BUYER_SEPARATOR)
