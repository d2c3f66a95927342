-- The low-stock index of a slot (`low`, a sorted set): a SKU is in it, scored by what it
-- can sell (`available` less `safety`), exactly while that is below its `low_threshold`.
-- Kept by every change of a level (alerts.lua) or of a threshold, in the change's own MULTI
-- or script; and the same per location (`index_places`).
local function index_low(low, sku, available, threshold)
  if threshold and tonumber(available) < tonumber(threshold) then
    redis.call('ZADD', low, available, sku)
  else
    redis.call('ZREM', low, sku)
  end
end

-- The low-stock index at each location of `sku` (`low .. ':at:' .. location`: the key
-- layout's `low_stock_at`), by the same rule with what can be sold there. `locs` is the
-- SKU's list of locations; without one its only location, `default`, holds the totals
-- (`sellable`). `default` is derived: the totals less every named location.
local function index_places(stock, low, sku, threshold, locs, sellable)
  if not locs then
    index_low(low .. ':at:default', sku, sellable, threshold)
    return
  end
  local names, fields = {}, {}
  for name in string.gmatch(locs, '[^,]+') do
    names[#names + 1] = name
    if name ~= 'default' then
      fields[#fields + 1] = 'available@' .. name
      fields[#fields + 1] = 'safety@' .. name
    end
  end
  local v = #fields > 0 and redis.call('HMGET', stock, unpack(fields)) or {}
  local at, rest, k = {}, sellable, 1
  for i, name in ipairs(names) do
    if name ~= 'default' then
      at[i] = tonumber(v[k] or '0') - tonumber(v[k + 1] or '0')
      rest = rest - at[i]
      k = k + 2
    end
  end
  for i, name in ipairs(names) do
    index_low(low .. ':at:' .. name, sku, at[i] or rest, threshold)
  end
end

-- The index entries of `sku` from its hash as it stands: after a change of its threshold.
local function reindex_low(stock, low, sku)
  local v = redis.call('HMGET', stock, 'available', 'low_threshold', 'safety', 'locs')
  if v[1] then
    local sellable = tonumber(v[1]) - tonumber(v[3] or '0')
    index_low(low, sku, sellable, v[2])
    index_places(stock, low, sku, v[2], v[4], sellable)
  else
    redis.call('ZREM', low, sku)
    redis.call('ZREM', low .. ':at:default', sku)
  end
  return 0
end
