-- Stores a new room unless the code is taken.
-- KEYS[1] meta hash; ARGV: base, owner, created (unix micros), then member key/name pairs.
-- Returns {'exists'} or {'ok'}.
local meta, base = KEYS[1], ARGV[1]
if redis.call('EXISTS', meta) == 1 then
  return { 'exists' }
end
redis.call('HSET', meta, 'owner', ARGV[2], 'created', ARGV[3],
  'next', 0, 'seq', 0, 'total', 0, 'done', 0, 'p0', 0, 'p1', 0, 'p2', 0)
for i = 4, #ARGV, 2 do
  if redis.call('HSETNX', base .. ':mkeys', ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('RPUSH', base .. ':members', ARGV[i + 1])
  end
end
return { 'ok' }
