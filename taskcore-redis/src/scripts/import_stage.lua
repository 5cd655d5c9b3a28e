-- Stages one chunk of an import (see transfer.rs), unless another import of the room has taken
-- the staging over since: tasks written exactly as insert_task and update_task write them (the
-- hash, every index, the counters) and idempotency keys.
-- KEYS: 1 the staging's meta hash, 2 its idempotency keys, 3 their fingerprints. Derived from
-- the staging base, as insert_task derives them: the task hashes, indexes and sets (lib.lua).
-- ARGV: 1 staging base, 2 token, 3 task count, then for each task 14 values: number, id,
-- version, JSON, search text and the indexed fields in INDEXED order (sort members with their
-- number tail); then the key count and for each key: key, task number, fingerprint ('' none).
-- Returns {'lost'} (nothing written) or {'ok'}.
local meta, base = KEYS[1], ARGV[1]
if redis.call('HGET', meta, 'token') ~= ARGV[2] then
  return { 'lost' }
end
local at = 4
for _ = 1, tonumber(ARGV[3]) do
  local f = fields_from_args(at + 5)
  hset_fields(base .. ':t:' .. ARGV[at], f, 'j', ARGV[at + 3], 'v', ARGV[at + 2], 'id', ARGV[at + 1],
    's', ARGV[at + 4])
  index(base, tonumber(ARGV[at]), f, true)
  count(meta, f, 1)
  at = at + 14
end
local keys = tonumber(ARGV[at])
at = at + 1
for _ = 1, keys do
  redis.call('HSET', KEYS[2], ARGV[at], ARGV[at + 1])
  if ARGV[at + 2] ~= '' then
    redis.call('HSET', KEYS[3], ARGV[at], ARGV[at + 2])
  end
  at = at + 3
end
return { 'ok' }
