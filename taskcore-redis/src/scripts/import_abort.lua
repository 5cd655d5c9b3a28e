-- Drops the staging of a failed import (see transfer.rs) if it is still this import's: after a
-- commit, or once another import took the staging over, nothing is touched.
-- KEYS: the staging's fixed keys (RoomKeys::fixed order). ARGV: 1 staging base, 2 token.
-- Returns {'ok'} or {'lost'}.
if redis.call('HGET', KEYS[FIXED_META], 'token') ~= ARGV[2] then
  return { 'lost' }
end
drop_room(ARGV[1], KEYS)
return { 'ok' }
