-- Commits a staged import (see transfer.rs) in one atomic step, if the staging is still this
-- import's and complete. When the room exists: not replacing, the staging is dropped and the
-- room left as it is; replacing, every key of the old room is deleted (its task hashes and tag
-- and assignee sets found from its tasks) and the new sequence is one beyond the old room's
-- at least. Then every staged key is renamed onto the room's name of it. The feed is empty.
-- KEYS: the room's fixed keys (F of them, RoomKeys::fixed order), the staging's fixed keys
-- (F), then pairs of a staged tag or assignee set and its name in the room.
-- Derived from the key bases, not passed: the task hashes of the staging and of the old room,
-- and the old room's tag and assignee sets (they depend on what Redis holds).
-- ARGV: 1 room base, 2 staging base, 3 token, 4 'replace' or not, 5 the snapshot's last
-- sequence, 6 staged task count, 7 staged key count, 8 F.
-- Returns {'lost'} or {'incomplete'} (nothing written), {'taken'} (staging dropped),
-- or {'created' | 'replaced', sequence}.
local base, staged, token = ARGV[1], ARGV[2], ARGV[3]
local F = tonumber(ARGV[8])
local real = { unpack(KEYS, 1, F) }
local staging = { unpack(KEYS, F + 1, 2 * F) }
local meta, staged_meta = real[FIXED_META], staging[FIXED_META]
if redis.call('HGET', staged_meta, 'token') ~= token then
  return { 'lost' }
end
if tonumber(redis.call('HGET', staged_meta, 'total')) ~= tonumber(ARGV[6])
  or redis.call('HLEN', staging[FIXED_IDEM]) ~= tonumber(ARGV[7]) then
  return { 'incomplete' }
end
local seq, status = tonumber(ARGV[5]), 'created'
if redis.call('EXISTS', meta) == 1 then
  if ARGV[4] ~= 'replace' then
    drop_room(staged, staging)
    return { 'taken' }
  end
  seq = math.max(seq, tonumber(redis.call('HGET', meta, 'seq')) + 1)
  status = 'replaced'
end
-- The only write that may allocate comes first: at maxmemory it fails before anything changed.
redis.call('HSET', staged_meta, 'seq', dec(seq))
redis.call('HDEL', staged_meta, 'token')
if status == 'replaced' then
  drop_room(base, real)
end
each_number(staged, function(num)
  redis.call('RENAME', staged .. ':t:' .. num, base .. ':t:' .. num)
end)
for i = 2 * F + 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('RENAME', KEYS[i], KEYS[i + 1])
  end
end
for i = 1, F do
  if redis.call('EXISTS', staging[i]) == 1 then
    redis.call('RENAME', staging[i], real[i])
  end
end
return { status, dec(seq) }
