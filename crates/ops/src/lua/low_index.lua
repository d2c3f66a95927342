-- The low-stock index of a slot (`low`, a sorted set): a SKU is in it, scored by what it
-- can sell (`available` less `safety`), exactly while that is below its `low_threshold`;
-- and the same per location (`low .. ':at:' .. location`, the key layout's `low_stock_at`),
-- with what can be sold there. Kept by every change of a level or a threshold, in the
-- change's own MULTI or script: the total and, for a SKU without named locations, its one
-- location `default` by the alert check (alerts.lua); the locations of a SKU with named ones
-- by whoever knows the change whole (take.lua per batch, the WATCH paths from their level,
-- low_places.lua from the hash).
local function index_low(low, sku, available, threshold)
  if threshold and tonumber(available) < tonumber(threshold) then
    redis.call('ZADD', low, available, sku)
  else
    redis.call('ZREM', low, sku)
  end
end
