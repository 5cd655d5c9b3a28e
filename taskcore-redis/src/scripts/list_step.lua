-- One bounded step of a listing whose filters are all sets (status, priority, tag, assignee) or
-- none. It looks at no more than `budget` index entries or set members, so its work never grows
-- with the room: when it stops early it says where, and the client calls it again from there
-- (query/walk.rs), or runs the filters itself in chunks (query/pass.rs).
-- KEYS[1] meta hash; ARGV:
--   1 base, 2 sort index name, 3 'asc' | 'desc', 4 start: the index member to continue strictly
--   after ('' for the beginning), 5 rows wanted, 6 status set ('' | 'open' | 'done'),
--   7 priority rank (''), 8 tag (''), 9 assignee key (''), 10 budget,
--   11 'first' (choose how to answer) | 'more' (continue a walk).
-- Returns
--   {'noroom'};
--   {'pass', seq}: the smallest filter set is too large to order here and too small a share of
--     the room for a walk to be cheaper than reading it — the client reads it in chunks;
--   {'ok', seq, total, matched ('' when only a chunked count can tell), smallest ('' without
--     filter sets, else the size of the smallest), last (the last index member looked at, '' for
--     none), exhausted ('1' when nothing is left after last, else '0'), json...}.
--
-- 'first', when the smallest filter set is small next to the room (size^2 < wanted * total, so
-- ordering it costs less than the expected walk): if it is no larger than the budget, reads that
-- set whole, keeps the members in every other set, orders them by their sort member and returns
-- the first ones after the start, with the exact match count (exhausted); if it is larger,
-- answers 'pass'. Otherwise it walks the sort index from the start in order, keeping entries in
-- every filter set (SISMEMBER), until it has the rows wanted or has looked at `budget` entries.
-- Only returned rows have their JSON read. The match count comes from SCARD, or SINTERCARD when
-- the smallest set is within the budget.
local meta, base = KEYS[1], ARGV[1]
local room = redis.call('HMGET', meta, 'seq', 'total')
if not room[1] then
  return { 'noroom' }
end
local seq, total = room[1], tonumber(room[2])
local index_key = base .. ':z:' .. ARGV[2]
local desc = ARGV[3] == 'desc'
local start = ARGV[4]
local wanted = tonumber(ARGV[5])
local budget = tonumber(ARGV[10])
local first = ARGV[11] == 'first'

local sets = {}
if ARGV[6] ~= '' then sets[#sets + 1] = base .. ':s:' .. ARGV[6] end
if ARGV[7] ~= '' then sets[#sets + 1] = base .. ':s:p:' .. ARGV[7] end
if ARGV[8] ~= '' then sets[#sets + 1] = base .. ':s:tag:' .. ARGV[8] end
if ARGV[9] ~= '' then sets[#sets + 1] = base .. ':s:who:' .. ARGV[9] end

local smallest, smallest_size = nil, nil
for _, set in ipairs(sets) do
  local size = redis.call('SCARD', set)
  if smallest_size == nil or size < smallest_size then smallest, smallest_size = set, size end
end

local matched = ''
if #sets == 0 then
  matched = string.format('%d', total)
elseif #sets == 1 then
  matched = string.format('%d', smallest_size)
elseif smallest_size <= budget then
  -- Looks at each member of the smallest set once per other set: bounded by the budget.
  matched = string.format('%d', redis.call('SINTERCARD', #sets, unpack(sets)))
end

local function in_sets(num, except)
  for _, set in ipairs(sets) do
    if set ~= except and redis.call('SISMEMBER', set, num) == 0 then return false end
  end
  return true
end

local function number_of(member)
  return string.format('%d', tonumber(string.sub(member, -20)))
end

-- Byte-wise a < b (Lua's own '<' follows the server locale).
local function bytes_lt(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local function reply(rows, last, exhausted)
  local out = { 'ok', seq, string.format('%d', total), matched,
    smallest_size and string.format('%d', smallest_size) or '', last, exhausted and '1' or '0' }
  for _, json in ipairs(rows) do out[#out + 1] = json end
  return out
end

-- Ordering the smallest set costs about its size; a walk about wanted * total / size entries.
local order_set = smallest and smallest_size * smallest_size < wanted * total
if first and order_set then
  if smallest_size <= budget then
    local SORT_FIELD = { created = 'mc', due = 'md', priority = 'mp', title = 'mt' }
    local field = SORT_FIELD[ARGV[2]]
    local picked, count = {}, 0
    for _, num in ipairs(redis.call('SMEMBERS', smallest)) do
      if in_sets(num, smallest) then
        count = count + 1
        local member
        if field then
          member = redis.call('HGET', base .. ':t:' .. num, field)
        else
          member = number_member(tonumber(num))
        end
        local after = start == '' or (desc and bytes_lt(member, start)) or (not desc and bytes_lt(start, member))
        if after then picked[#picked + 1] = member end
      end
    end
    if desc then
      table.sort(picked, function(a, b) return bytes_lt(b, a) end)
    else
      table.sort(picked, bytes_lt)
    end
    local rows = {}
    for i = 1, math.min(wanted, #picked) do
      rows[i] = redis.call('HGET', base .. ':t:' .. number_of(picked[i]), 'j')
    end
    matched = string.format('%d', count)
    return reply(rows, '', true)
  end
  return { 'pass', seq }
end

local min, max = '-', '+'
if start ~= '' then
  if desc then max = '(' .. start else min = '(' .. start end
end
local rows, last, exhausted, left = {}, '', false, budget
while left > 0 and #rows < wanted do
  local size = math.min(left, #sets == 0 and (wanted - #rows) or 128)
  local batch
  if desc then
    batch = redis.call('ZREVRANGEBYLEX', index_key, max, min, 'LIMIT', 0, size)
  else
    batch = redis.call('ZRANGEBYLEX', index_key, min, max, 'LIMIT', 0, size)
  end
  local looked = 0
  for _, member in ipairs(batch) do
    looked = looked + 1
    last = member
    local num = number_of(member)
    if in_sets(num, nil) then
      rows[#rows + 1] = redis.call('HGET', base .. ':t:' .. num, 'j')
      if #rows >= wanted then break end
    end
  end
  left = left - looked
  if #batch < size and looked == #batch then
    exhausted = true
    break
  end
  if desc then max = '(' .. last else min = '(' .. last end
end
return reply(rows, last, exhausted)
