-- Replaces a task if its stored version is the expected one.
-- KEYS[1] meta hash; ARGV: base, retention, number, expected version, new version, JSON,
-- search text, change record, then the new indexed fields in INDEXED order.
-- Returns {'noroom'}, {'notask'}, {'conflict', current} or {'ok'}.
local meta, base, retention = KEYS[1], ARGV[1], ARGV[2]
if redis.call('EXISTS', meta) == 0 then
  return { 'noroom' }
end
local n = tonumber(ARGV[3])
local tkey = base .. ':t:' .. dec(n)
local current = redis.call('HGET', tkey, 'v')
if not current then
  return { 'notask' }
end
if current ~= ARGV[4] then
  return { 'conflict', current }
end
local old = read_indexed(tkey)
local new = fields_from_args(9)
index(base, n, old, false)
count(meta, old, -1)
hset_fields(tkey, new, 'j', ARGV[6], 'v', ARGV[5], 's', ARGV[7])
index(base, n, new, true)
count(meta, new, 1)
append(meta, base, retention, ARGV[8])
return { 'ok' }
