-- THE OLD LISTING SCRIPT, kept only as the reference of benches/search.rs: it walks a whole
-- room inside one script when a filter needs the task hashes (text, due ranges, overdue), which
-- is what src/query/ replaced. The store does not use it.
-- One page of a room's tasks, read in one atomic step (a consistent snapshot).
-- KEYS[1] meta hash; ARGV:
--   1 base, 2 sort index name, 3 'asc' | 'desc', 4 cursor member ('' for none),
--   5 rows wanted (limit + 1), 6 status set ('' | 'open' | 'done'), 7 priority rank (''),
--   8 tag (''), 9 assignee key (''), 10 search text (''),
--   11 due at or after (encoded, ''), 12 due before (encoded, ''), 13 overdue at (encoded now, '').
-- Returns {'noroom'} or {'ok', total, matched, json...}.
--
-- Candidates come from the narrowest index the filters name: a due-date range (pending tasks with
-- a due date for overdue) or the smallest filter set; without one, every task.
-- Items: when the candidates are few (size^2 < wanted * total), filter them, order their sort
-- members byte-wise and take the first ones after the cursor; otherwise walk the sort index from
-- the cursor in order, in batches, keeping tasks that pass the filters (set filters by
-- SISMEMBER, the rest on three fields of the task hash) until enough are found. Only the rows
-- returned have their JSON read. Matched: from set cardinalities when only set filters are used,
-- else by counting the candidates that pass.
local meta, base = KEYS[1], ARGV[1]
if redis.call('EXISTS', meta) == 0 then
  return { 'noroom' }
end
local BATCH = 256
local index_key = base .. ':z:' .. ARGV[2]
local desc = ARGV[3] == 'desc'
local cursor = ARGV[4]
local wanted = tonumber(ARGV[5])
local text, due_after, due_before, overdue_at = ARGV[10], ARGV[11], ARGV[12], ARGV[13]

local sets = {}
if ARGV[6] ~= '' then sets[#sets + 1] = base .. ':s:' .. ARGV[6] end
if ARGV[7] ~= '' then sets[#sets + 1] = base .. ':s:p:' .. ARGV[7] end
if ARGV[8] ~= '' then sets[#sets + 1] = base .. ':s:tag:' .. ARGV[8] end
if ARGV[9] ~= '' then sets[#sets + 1] = base .. ':s:who:' .. ARGV[9] end
local row_filters = text ~= '' or due_after ~= '' or due_before ~= '' or overdue_at ~= ''

-- Byte-wise a < b for equal-length encoded values (Lua's own '<' follows the server locale).
local function lt(a, b)
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return false
end

local function passes(num)
  for _, set in ipairs(sets) do
    if redis.call('SISMEMBER', set, num) == 0 then return false end
  end
  if not row_filters then return true end
  local row = redis.call('HMGET', base .. ':t:' .. num, 'due', 'd', 's')
  local due, done, search = row[1] or '', row[2], row[3] or ''
  if text ~= '' and not string.find(search, text, 1, true) then return false end
  if due_after ~= '' and (due == '' or lt(due, due_after)) then return false end
  if due_before ~= '' and (due == '' or not lt(due, due_before)) then return false end
  if overdue_at ~= '' and (done == '1' or due == '' or not lt(due, overdue_at)) then return false end
  return true
end

local function number_of(member)
  return string.format('%d', tonumber(string.sub(member, -20)))
end

-- Calls visit(num) for the members of a lex index between min and max, in order, until it
-- returns false.
local function walk(key, min, max, reverse, visit)
  while true do
    local batch
    if reverse then
      batch = redis.call('ZREVRANGEBYLEX', key, max, min, 'LIMIT', 0, BATCH)
    else
      batch = redis.call('ZRANGEBYLEX', key, min, max, 'LIMIT', 0, BATCH)
    end
    for _, member in ipairs(batch) do
      if visit(number_of(member)) == false then return end
    end
    if #batch < BATCH then return end
    if reverse then max = '(' .. batch[#batch] else min = '(' .. batch[#batch] end
  end
end

local total = tonumber(redis.call('HGET', meta, 'total'))

-- The narrowest candidate source: {size, each(visit)}, or nil for every task.
local source = nil
local function consider(size, each)
  if source == nil or size < source.size then source = { size = size, each = each } end
end
if due_after ~= '' or due_before ~= '' or overdue_at ~= '' then
  local key = base .. ':z:due'
  local upper = due_before
  if overdue_at ~= '' then
    key = base .. ':z:pdue'
    if upper == '' or lt(overdue_at, upper) then upper = overdue_at end
  end
  local lo, hi = '-', '+'
  if due_after ~= '' then lo = '[' .. due_after end
  if upper ~= '' then hi = '(' .. upper end
  consider(redis.call('ZLEXCOUNT', key, lo, hi), function(visit) walk(key, lo, hi, false, visit) end)
end
for _, set in ipairs(sets) do
  consider(redis.call('SCARD', set), function(visit)
    for _, num in ipairs(redis.call('SMEMBERS', set)) do visit(num) end
  end)
end
local function each_candidate(visit)
  if source then source.each(visit) else walk(base .. ':z:number', '-', '+', false, visit) end
end

-- Byte-wise a < b for any two strings.
local function bytes_lt(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local SORT_FIELD = { created = 'mc', due = 'md', priority = 'mp', title = 'mt' }
local function sort_member(num)
  local field = SORT_FIELD[ARGV[2]]
  if field then return redis.call('HGET', base .. ':t:' .. num, field) end
  return number_member(tonumber(num))
end

local rows = {}
if source and source.size * source.size < wanted * total then
  local picked = {}
  each_candidate(function(num)
    if passes(num) then
      local member = sort_member(num)
      local after = cursor == '' or (desc and bytes_lt(member, cursor)) or (not desc and bytes_lt(cursor, member))
      if after then picked[#picked + 1] = member end
    end
  end)
  if desc then
    table.sort(picked, function(a, b) return bytes_lt(b, a) end)
  else
    table.sort(picked, bytes_lt)
  end
  for i = 1, math.min(wanted, #picked) do
    rows[i] = redis.call('HGET', base .. ':t:' .. number_of(picked[i]), 'j')
  end
else
  local min, max = '-', '+'
  if cursor ~= '' then
    if desc then max = '(' .. cursor else min = '(' .. cursor end
  end
  walk(index_key, min, max, desc, function(num)
    if passes(num) then
      rows[#rows + 1] = redis.call('HGET', base .. ':t:' .. num, 'j')
      if #rows >= wanted then return false end
    end
    return true
  end)
end

local matched = 0
if not row_filters then
  if #sets == 0 then
    matched = total
  elseif #sets == 1 then
    matched = redis.call('SCARD', sets[1])
  else
    matched = redis.call('SINTERCARD', #sets, unpack(sets))
  end
else
  each_candidate(function(num)
    if passes(num) then matched = matched + 1 end
  end)
end

local out = { 'ok', string.format('%d', total), string.format('%d', matched) }
for _, json in ipairs(rows) do out[#out + 1] = json end
return out
