-- Adds a member unless one with the same case-folded key is there.
-- KEYS[1] meta hash; ARGV: base, retention, member key, member name, at (unix micros).
-- Returns {'noroom'} or {'ok', owner, created, member...}.
local meta, base = KEYS[1], ARGV[1]
if redis.call('EXISTS', meta) == 0 then
  return { 'noroom' }
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
