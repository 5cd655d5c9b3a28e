-- Runs read commands as one atomic step, like MULTI/EXEC, and answers their replies in order.
-- ARGV: for each command, its argument count, then the command and its arguments.
-- KEYS[1] is the room's meta hash (every key read shares its hash tag).
-- Why not MULTI: at maxmemory Redis refuses every command queued in a transaction, reads
-- included, while a script runs until it tries to write; this one never writes.
local out = {}
local i = 1
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  out[#out + 1] = redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
return out
