-- Adds a member unless one with the same case-folded key is there, or the room has `quota`
-- members already.
-- KEYS[1] meta hash; ARGV: base, retention, member key, member name, at (unix micros), quota.
-- Returns {'noroom'}, {'quota'} or {'ok', owner, created, member...}.
local meta, base = KEYS[1], ARGV[1]
if redis.call('EXISTS', meta) == 0 then
  return { 'noroom' }
end
if redis.call('HEXISTS', base .. ':mkeys', ARGV[3]) == 0
  and redis.call('LLEN', base .. ':members') >= tonumber(ARGV[6]) then
  return { 'quota' }
end
if redis.call('HSETNX', base .. ':mkeys', ARGV[3], ARGV[4]) == 1 then
  redis.call('RPUSH', base .. ':members', ARGV[4])
  append(meta, base, ARGV[2], ARGV[5] .. '\njoined\n' .. ARGV[4])
end
local room = redis.call('HMGET', meta, 'owner', 'created')
local out = { 'ok', room[1], room[2] }
for _, name in ipairs(redis.call('LRANGE', base .. ':members', 0, -1)) do
  out[#out + 1] = name
end
return out
