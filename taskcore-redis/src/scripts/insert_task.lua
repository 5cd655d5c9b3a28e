-- Creates a task with the room's next number, unless the room holds `quota` tasks already.
-- KEYS[1] meta hash; ARGV: base, retention, idempotency key ('' for none), task id,
-- JSON before the number, JSON after the number, search text, at (unix micros),
-- then the indexed fields in INDEXED order (the sort members without their number tail),
-- then (ARGV[18]) the task quota and (ARGV[19]) the request's fingerprint.
-- Returns {'noroom'}, {'quota'}, {'used', n, fingerprint, json or ''} (the key was used before:
-- the client applies taskcore's replay rule) or {'created', n}.
local meta, base, retention, key = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', meta) == 0 then
  return { 'noroom' }
end
if key ~= '' then
  local previous = redis.call('HGET', base .. ':idem', key)
  if previous then
    local fingerprint = redis.call('HGET', base .. ':idemfp', key) or ''
    local json = redis.call('HGET', base .. ':t:' .. previous, 'j') or ''
    return { 'used', previous, fingerprint, json }
  end
end
if tonumber(redis.call('HGET', meta, 'total')) >= tonumber(ARGV[18]) then
  return { 'quota' }
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
  redis.call('HSET', base .. ':idemfp', key, ARGV[19])
end
append(meta, base, retention, ARGV[8] .. '\ncreated\n' .. json)
return { 'created', num }
