-- The catalog: every SKU's name, in pages of at most PAGE_MAX names each. A page is a
-- sorted set with every score 0 (so ordered by name) small enough to stay a listpack, about
-- 16 bytes a name; one big sorted set would be a skiplist, about 110. The directory
-- (KEYS[1]) holds each page's lower bound; the first page's is '' and always exists once a
-- name does. A page's key is ARGV[2] .. its lower bound. Names sort as bytes.
-- ARGV[1] is the operation:
--   'add', names...     -> how many were new (names sorted as bytes, each once); a
--                          full page splits in two
--   'remove', names...  -> how many were there; an empty page (but the first) goes
--   'list', from, to, n -> up to n names within the ZRANGE BYLEX bounds from and to
local dir, pages, op = KEYS[1], ARGV[2], ARGV[1]
-- 64: a ZADD scans the listpack it inserts into, so a page's size is the price of a new
-- name (about 2 µs at 64, 3.7 at 120); a page costs about 2 bytes a name more than at 120.
local PAGE_MAX = 64

-- The lower bound of the page that holds (or would hold) `name`.
local function page_of(name)
  return redis.call('ZRANGE', dir, '[' .. name, '-', 'BYLEX', 'REV', 'LIMIT', 0, 1)[1]
end

-- Whether name `a` sorts before `b` as bytes, as ZRANGE BYLEX orders them (Lua's `<` on
-- strings follows the server's locale instead).
local function before(a, b)
  for k = 1, math.min(#a, #b) do
    local x, y = string.byte(a, k), string.byte(b, k)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- Names come sorted as bytes and each once (the caller sorts them), so the names that go to
-- one page are a run of ARGV, found by a binary search against the next page's bound: a page
-- takes a run in one ZADD, never more names than keep it a listpack.
if op == 'add' then
  local added, i, n = 0, 3, #ARGV
  while i <= n do
    local low = page_of(ARGV[i])
    if not low then
      low = ''
      redis.call('ZADD', dir, 0, low)
    end
    local page = pages .. low
    -- The run: ARGV[i .. stop - 1], the names below the next page's bound (a last name is
    -- a run of its own: no bound to look up for a single add).
    local stop = n + 1
    local next_low = i < n and redis.call('ZRANGE', dir, '(' .. low, '+', 'BYLEX', 'LIMIT', 0, 1)[1]
    if next_low then
      local lo, hi = i, n + 1
      while lo < hi do
        local mid = math.floor((lo + hi) / 2)
        if before(ARGV[mid], next_low) then lo = mid + 1 else hi = mid end
      end
      stop = lo
    end
    local room = PAGE_MAX - redis.call('ZCARD', page)
    local take = math.min(room, stop - i)
    if take > 0 then
      local args = {}
      for k = i, i + take - 1 do
        args[#args + 1] = 0
        args[#args + 1] = ARGV[k]
      end
      added = added + redis.call('ZADD', page, unpack(args))
      i = i + take
    end
    local last = i < stop and redis.call('ZRANGE', page, -1, -1)[1]
    if last and before(last, ARGV[i]) then
      -- Full, and the rest of the run comes after every name here (an import in name
      -- order): the rest starts a page of its own.
      redis.call('ZADD', dir, 0, ARGV[i])
    elseif last then
      -- Full with names of this run left: split it in two and look again, since the rest
      -- may belong to either half.
      local upper = redis.call('ZRANGE', page, PAGE_MAX / 2, -1)
      local args = {}
      for _, m in ipairs(upper) do
        args[#args + 1] = 0
        args[#args + 1] = m
      end
      redis.call('ZADD', pages .. upper[1], unpack(args))
      redis.call('ZREMRANGEBYRANK', page, PAGE_MAX / 2, -1)
      redis.call('ZADD', dir, 0, upper[1])
    end
  end
  return added
elseif op == 'remove' then
  local removed = 0
  for i = 3, #ARGV do
    local low = page_of(ARGV[i])
    if low then
      local page = pages .. low
      removed = removed + redis.call('ZREM', page, ARGV[i])
      if low ~= '' and redis.call('EXISTS', page) == 0 then redis.call('ZREM', dir, low) end
    end
  end
  return removed
elseif op == 'list' then
  local from, to, n = ARGV[3], ARGV[4], tonumber(ARGV[5])
  local out = {}
  local low = from == '-' and '' or page_of(string.sub(from, 2))
  while low do
    local got = redis.call('ZRANGE', pages .. low, from, to, 'BYLEX', 'LIMIT', 0, n - #out)
    for _, name in ipairs(got) do out[#out + 1] = name end
    if #out >= n then break end
    -- The next page, unless it starts past `to`.
    low = redis.call('ZRANGE', dir, '(' .. low, to, 'BYLEX', 'LIMIT', 0, 1)[1]
  end
  return out
end
return redis.error_reply('catalog.lua: unknown operation ' .. tostring(op))
