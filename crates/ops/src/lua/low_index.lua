-- The low-stock index of a slot (`low`, a sorted set): a SKU is in it, scored by what it
-- can sell (`available` less `safety`), exactly while that is below its `low_threshold`. Kept by every change
-- of a level (alerts.lua) or of a threshold, in the change's own MULTI or script.
local function index_low(low, sku, available, threshold)
  if threshold and tonumber(available) < tonumber(threshold) then
    redis.call('ZADD', low, available, sku)
  else
    redis.call('ZREM', low, sku)
  end
end

-- The index entry of `sku` from its hash as it stands: after a change of its threshold, or
-- of a level that raises no alert check.
local function reindex_low(stock, low, sku)
  local v = redis.call('HMGET', stock, 'available', 'low_threshold', 'safety')
  if v[1] then index_low(low, sku, tonumber(v[1]) - tonumber(v[3] or '0'), v[2]) else redis.call('ZREM', low, sku) end
  return 0
end
