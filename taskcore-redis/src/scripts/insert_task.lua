-- Creates a task with the room's next number.
-- KEYS[1] meta hash; ARGV: base, retention, idempotency key ('' for none), task id,
-- JSON before the number, JSON after the number, search text, at (unix micros),
-- then the indexed fields in INDEXED order (the sort members without their number tail).
-- Returns {'noroom'}, {'notask', n} (key used by a deleted task), {'replayed', json} or
-- {'created', n}.
local meta, base, retention, key = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', meta) == 0 then
  return { 'noroom' }
end
if key ~= '' then
  local previous = redis.call('HGET', base .. ':idem', key)
  if previous then
    local json = redis.call('HGET', base .. ':t:' .. previous, 'j')
    if not json then return { 'notask', previous } end
    return { 'replayed', json }
  end
end
local n = redis.call('HINCRBY', meta, 'next', 1)
local num, pad = dec(n), pad20(n)
local json = ARGV[5] .. num .. ARGV[6]
local f = fields_from_args(9)
f.mc, f.md, f.mp, f.mt = f.mc .. pad, f.md .. pad, f.mp .. pad, f.mt .. pad
local tkey = base .. ':t:' .. num
hset_fields(tkey, f, 'j', json, 'v', 1, 'id', ARGV[4], 's', ARGV[7])
index(base, n, f, true)
count(meta, f, 1)
if key ~= '' then
  redis.call('HSET', base .. ':idem', key, num)
end
append(meta, base, retention, ARGV[8] .. '\ncreated\n' .. json)
return { 'created', num }
