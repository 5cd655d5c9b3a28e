-- Shared helpers, prepended to every write script (see script.rs). Every script gets the
-- room's meta hash as KEYS[1] and the room's key base "{prefix:CODE}" as ARGV[1]; every other
-- key it touches is derived from that base and so lives in the same Redis Cluster slot.

-- Zero-padded decimal: the tail of every sort-index member, so ties order by number.
local function pad20(n)
  return string.format('%020d', n)
end

-- Decimal task number as used in set members and task hash keys.
local function dec(n)
  return string.format('%d', n)
end

-- The number index member of task n: the sortable 16-hex-digit encoding of n (sign bit flipped),
-- a NUL, and the padded number; the same shape the client computes for other sort values.
local function number_member(n)
  return '8' .. string.format('%015x', n) .. '\0' .. pad20(n)
end

local function tag_list(tags)
  local out = {}
  for tag in string.gmatch(tags, '[^,]+') do
    out[#out + 1] = tag
  end
  return out
end

-- The fields of a task hash that indexes and counters are derived from.
local INDEXED = { 'd', 'p', 'due', 'tags', 'a', 'mc', 'md', 'mp', 'mt' }

local function read_indexed(tkey)
  local values = redis.call('HMGET', tkey, unpack(INDEXED))
  local f = {}
  for i, name in ipairs(INDEXED) do
    f[name] = values[i] or ''
  end
  return f
end

-- Adds (add = true) or removes task n with fields f to/from every index of the room.
local function index(base, n, f, add)
  local num, pad = dec(n), pad20(n)
  local function z(key, member)
    if add then redis.call('ZADD', key, 0, member) else redis.call('ZREM', key, member) end
  end
  local function s(key)
    if add then redis.call('SADD', key, num) else redis.call('SREM', key, num) end
  end
  z(base .. ':z:number', number_member(n))
  z(base .. ':z:created', f.mc)
  z(base .. ':z:due', f.md)
  z(base .. ':z:priority', f.mp)
  z(base .. ':z:title', f.mt)
  if f.d == '1' then
    s(base .. ':s:done')
  else
    s(base .. ':s:open')
    if f.due ~= '' then z(base .. ':z:pdue', f.due .. '\0' .. pad) end
  end
  s(base .. ':s:p:' .. f.p)
  for _, tag in ipairs(tag_list(f.tags)) do s(base .. ':s:tag:' .. tag) end
  if f.a ~= '' then s(base .. ':s:who:' .. f.a) end
end

-- The hash key and the stored {version, JSON, id} of task n, checked against the expected
-- version ('' for any); or nil and the refusal reply (room or task missing, version conflict).
local function find_task(meta, base, n, expected)
  if redis.call('EXISTS', meta) == 0 then
    return nil, { 'noroom' }
  end
  local tkey = base .. ':t:' .. dec(n)
  local stored = redis.call('HMGET', tkey, 'v', 'j', 'id')
  if not stored[1] then
    return nil, { 'notask' }
  end
  if expected ~= '' and stored[1] ~= expected then
    return nil, { 'conflict', stored[1] }
  end
  return tkey, stored
end

-- Adds delta to the room's stats counters for a task with fields f.
local function count(meta, f, delta)
  redis.call('HINCRBY', meta, 'total', delta)
  if f.d == '1' then redis.call('HINCRBY', meta, 'done', delta) end
  redis.call('HINCRBY', meta, 'p' .. f.p, delta)
end

-- Takes task n (hash tkey) out of every index and counter, as its stored fields say.
local function unindex(meta, base, n, tkey)
  local old = read_indexed(tkey)
  index(base, n, old, false)
  count(meta, old, -1)
end

-- Appends one change record ("<at>\n<kind>\n<payload>") with the room's next sequence number
-- and drops changes beyond the retention. Returns the sequence number.
local function append(meta, base, retention, record)
  local seq = redis.call('HINCRBY', meta, 'seq', 1)
  local feed = base .. ':changes'
  redis.call('ZADD', feed, seq, pad20(seq) .. '\n' .. record)
  local first_kept = seq - tonumber(retention) + 1
  if first_kept > 1 then
    redis.call('ZREMRANGEBYSCORE', feed, '-inf', '(' .. dec(first_kept))
  end
  return seq
end

-- The arguments of a task's indexed fields, in INDEXED order, starting at ARGV[from].
local function fields_from_args(from)
  local f = {}
  for i, name in ipairs(INDEXED) do
    f[name] = ARGV[from + i - 1]
  end
  return f
end

-- Writes the task hash: the given leading field/value pairs and the indexed fields f, in one HSET.
local function hset_fields(tkey, f, ...)
  local args = { ... }
  for _, name in ipairs(INDEXED) do
    args[#args + 1] = name
    args[#args + 1] = f[name]
  end
  redis.call('HSET', tkey, unpack(args))
end
