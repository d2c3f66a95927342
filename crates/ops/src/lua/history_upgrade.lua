-- Converts one SKU's movement stream (the layout of earlier versions) into its history list, in the
-- entry format of crates/ops/src/movements.rs, atomically, so a movement written meanwhile
-- by a newer process is neither lost nor counted twice.
-- KEYS: the stock hash, the old stream, the history list. ARGV: the list's cap.
-- Returns the entries converted.
local stock, stream, list, cap = KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1])
if redis.call('EXISTS', stream) == 0 then return 0 end
if redis.call('EXISTS', stock) == 0 then
  redis.call('DEL', stream)
  return 0
end
local info, len, added = redis.call('XINFO', 'STREAM', stream), 0, nil
for i = 1, #info - 1, 2 do
  if info[i] == 'length' then len = info[i + 1] end
  if info[i] == 'entries-added' then added = info[i + 1] end
end
-- Newest first, appended behind anything a newer process pushed since: those are newer.
local entries = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', cap)
for _, e in ipairs(entries) do
  local f = {}
  for j = 1, #e[2] - 1, 2 do f[e[2][j]] = e[2][j + 1] end
  if f.kind and f.quantity and f.ref and f.at then
    local text = f.kind .. ' ' .. f.quantity .. ' ' .. f.ref .. ' ' .. f.at
    for _, name in ipairs({'location', 'to', 'reason'}) do
      if f[name] then text = text .. ' ' .. name .. '=' .. f[name] end
    end
    redis.call('RPUSH', list, text)
  end
end
redis.call('LTRIM', list, 0, cap - 1)
-- Every movement ever is counted only when the stream was never trimmed (Redis 7 says so);
-- otherwise one more than was kept, so the history reads as trimmed, as it was.
local whole = added ~= nil and added == len and #entries == len
redis.call('HINCRBY', stock, 'moved', whole and len or len + 1)
if redis.call('HEXISTS', stock, 'born') == 0 then redis.call('HSET', stock, 'born', '-') end
redis.call('DEL', stream)
return #entries
