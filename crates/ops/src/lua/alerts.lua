-- Decides the stock alerts of one change, inside the transaction or script that made it, so
-- each crossing is decided exactly once however many buyers race: the change has already
-- moved what can be sold (`available` less `safety`) by `delta`, so that less `delta` is
-- what it was before.
--
-- Rules live in the stock hash: `low_threshold` (low_stock, out_of_stock, back_in_stock)
-- and `reorder_point` / `reorder_quantity` (reorder, of `available + incoming`: stock on its
-- way counts). A SKU without rules raises nothing.
-- The same change keeps the low-stock index (low_index.lua): in total, and at `default` for a
-- SKU without named locations.
local function raise_alerts(stock, stream, low, sku, delta, at, maxlen)
  local v = redis.call('HMGET', stock, 'available', 'low_threshold', 'reorder_point', 'reorder_quantity', 'incoming', 'safety', 'locs')
  if not v[1] or (not v[2] and not v[3]) then return 0 end
  -- Alerts are about what can be sold: `available` less the safety stock.
  local after = tonumber(v[1]) - tonumber(v[6] or '0')
  local before = after - delta
  local raised = 0
  local function add(kind, threshold, quantity)
    local fields = {'type', kind, 'sku', sku, 'available', after, 'threshold', threshold, 'at', at}
    if quantity then
      table.insert(fields, 'quantity')
      table.insert(fields, quantity)
    end
    redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(fields))
    raised = raised + 1
  end
  if v[2] then
    local t = tonumber(v[2])
    if before >= t and after < t then add('low_stock', t) end
    if before > 0 and after <= 0 then add('out_of_stock', t) end
    if before < t and after >= t then add('back_in_stock', t) end
    -- Only a move within the low range or across its edge changes the index; without
    -- named locations, the SKU's one location (`default`) moves with it. With them, how each
    -- location moved is not known here: the caller indexes them (low_index.lua says who).
    if before < t or after < t then
      index_low(low, sku, after, t)
      if not v[7] then index_low(low .. ':at:default', sku, after, t) end
    end
  end
  if v[3] then
    -- Units of purchase orders on their way count: no reorder while they cover the point.
    local r = tonumber(v[3]) - tonumber(v[5] or '0')
    if before >= r and after < r then add('reorder', tonumber(v[3]), v[4] or '0') end
  end
  return raised
end
