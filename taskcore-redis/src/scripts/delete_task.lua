-- Deletes a task, if given only at the expected version, and appends a tombstone.
-- KEYS[1] meta hash; ARGV: base, retention, number, expected version ('' for any), at (unix micros).
-- Returns {'noroom'}, {'notask'}, {'conflict', current} or {'ok', json}.
local meta, base, retention = KEYS[1], ARGV[1], ARGV[2]
if redis.call('EXISTS', meta) == 0 then
  return { 'noroom' }
end
local n = tonumber(ARGV[3])
local tkey = base .. ':t:' .. dec(n)
local stored = redis.call('HMGET', tkey, 'v', 'j', 'id')
if not stored[1] then
  return { 'notask' }
end
if ARGV[4] ~= '' and stored[1] ~= ARGV[4] then
  return { 'conflict', stored[1] }
end
local old = read_indexed(tkey)
index(base, n, old, false)
count(meta, old, -1)
redis.call('DEL', tkey)
append(meta, base, retention, ARGV[5] .. '\ndeleted\n' .. dec(n) .. '\n' .. stored[3])
return { 'ok', stored[2] }
