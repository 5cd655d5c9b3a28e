-- Starts an import (see transfer.rs): unless the room exists and is not to be replaced, drops
-- whatever an earlier, interrupted import of the room left staged, then stages the room's meta
-- (with this import's token, the last number and zero counters) and its members.
-- KEYS: 1 the room's meta hash, then the staging's fixed keys (RoomKeys::fixed order).
-- Derived from the staging base, not passed: the task hashes and tag and assignee sets of a
-- leftover staging (they depend on what it holds).
-- ARGV: 1 staging base, 2 token, 3 'replace' or not, 4 owner, 5 created (unix micros),
-- 6 last number, then member key/name pairs, owner first.
-- Returns {'taken'} (the room exists and is not to be replaced; nothing written) or {'ok', the
-- number of tasks of the room now (0 for none), which the commit will delete}.
local base, token = ARGV[1], ARGV[2]
if ARGV[3] ~= 'replace' and redis.call('EXISTS', KEYS[1]) == 1 then
  return { 'taken' }
end
local fixed = { unpack(KEYS, 2) }
drop_room(base, fixed)
redis.call('HSET', fixed[FIXED_META], 'token', token, 'owner', ARGV[4], 'created', ARGV[5],
  'next', ARGV[6], 'seq', 0, 'total', 0, 'done', 0, 'p0', 0, 'p1', 0, 'p2', 0)
local pairs_, names = {}, {}
for i = 7, #ARGV, 2 do
  pairs_[#pairs_ + 1], pairs_[#pairs_ + 2] = ARGV[i], ARGV[i + 1]
  names[#names + 1] = ARGV[i + 1]
end
redis.call('HSET', fixed[FIXED_MKEYS], unpack(pairs_))
redis.call('RPUSH', fixed[FIXED_MEMBERS], unpack(names))
return { 'ok', redis.call('HGET', KEYS[1], 'total') or '0' }
