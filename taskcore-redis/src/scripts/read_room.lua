-- Reads a whole room in one atomic step: the fallback of snapshot_room (see transfer.rs) when
-- writes kept moving the room under its chunked reads. Its work and reply grow with the room,
-- which the task quota bounds. It never writes, so a Redis at maxmemory still runs it.
-- KEYS: 1 meta hash, 2 members, 3 idempotency keys, 4 their fingerprints, 5 number index.
-- ARGV: 1 key base.
-- Returns {} (no room) or {owner, created, next, seq, member count, members...,
-- key count, (key, number, fingerprint or '')..., the task JSON in number order ('' for a
-- task hash that is missing)...}.
local base = ARGV[1]
local meta = redis.call('HMGET', KEYS[1], 'owner', 'created', 'next', 'seq')
if not meta[1] then
  return {}
end
local out = { meta[1], meta[2], meta[3], meta[4] }
local members = redis.call('LRANGE', KEYS[2], 0, -1)
out[#out + 1] = string.format('%d', #members)
for _, name in ipairs(members) do out[#out + 1] = name end
local keys = redis.call('HGETALL', KEYS[3])
out[#out + 1] = string.format('%d', #keys / 2)
for i = 1, #keys, 2 do
  out[#out + 1] = keys[i]
  out[#out + 1] = keys[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[4], keys[i]) or ''
end
local total = redis.call('ZCARD', KEYS[5])
for start = 0, total - 1, 1000 do
  for _, member in ipairs(redis.call('ZRANGE', KEYS[5], start, start + 999)) do
    local num = string.format('%d', tonumber(string.sub(member, -20)))
    out[#out + 1] = redis.call('HGET', base .. ':t:' .. num, 'j') or ''
  end
end
return out
