-- The low-stock index entries of `sku` at each of its locations, from its hash as it
-- stands (after index_low, low_index.lua). Without named locations its one location,
-- `default`, holds the totals; with them `default` is derived: the totals less every named
-- location.
local function index_places(stock, low, sku)
  local v = redis.call('HMGET', stock, 'available', 'low_threshold', 'safety', 'locs')
  if not v[1] then
    redis.call('ZREM', low .. ':at:default', sku)
    return
  end
  -- Without a threshold there is nothing to index (removing one removes every entry).
  if not v[2] then return end
  local rest = tonumber(v[1]) - tonumber(v[3] or '0')
  if not v[4] then
    index_low(low .. ':at:default', sku, rest, v[2])
    return
  end
  local names, fields = {}, {}
  for name in string.gmatch(v[4], '[^,]+') do
    names[#names + 1] = name
    if name ~= 'default' then
      fields[#fields + 1] = 'available@' .. name
      fields[#fields + 1] = 'safety@' .. name
    end
  end
  local got = #fields > 0 and redis.call('HMGET', stock, unpack(fields)) or {}
  local at, k = {}, 1
  for i, name in ipairs(names) do
    if name ~= 'default' then
      at[i] = tonumber(got[k] or '0') - tonumber(got[k + 1] or '0')
      rest = rest - at[i]
      k = k + 2
    end
  end
  for i, name in ipairs(names) do
    index_low(low .. ':at:' .. name, sku, at[i] or rest, v[2])
  end
end

-- Every index entry of `sku` from its hash as it stands: after a change of its threshold.
local function reindex_low(stock, low, sku)
  local v = redis.call('HMGET', stock, 'available', 'low_threshold', 'safety')
  if v[1] then
    index_low(low, sku, tonumber(v[1]) - tonumber(v[3] or '0'), v[2])
  else
    redis.call('ZREM', low, sku)
  end
  index_places(stock, low, sku)
  return 0
end
