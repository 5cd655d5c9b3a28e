-- Deletes a task, if given only at the expected version, and appends a tombstone.
-- KEYS[1] meta hash; ARGV: base, retention, number, expected version ('' for any), at (unix micros).
-- Returns {'noroom'}, {'notask'}, {'conflict', current} or {'ok', json}.
local meta, base, retention = KEYS[1], ARGV[1], ARGV[2]
local n = tonumber(ARGV[3])
local tkey, stored = find_task(meta, base, n, ARGV[4])
if not tkey then
  return stored
end
unindex(meta, base, n, tkey)
redis.call('DEL', tkey)
append(meta, base, retention, ARGV[5] .. '\ndeleted\n' .. dec(n) .. '\n' .. stored[3])
return { 'ok', stored[2] }
