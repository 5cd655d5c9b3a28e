-- Replaces a task if its stored version is the expected one.
-- KEYS[1] meta hash; ARGV: base, retention, number, expected version, new version, JSON,
-- search text, change record, then the new indexed fields in INDEXED order.
-- Returns {'noroom'}, {'notask'}, {'conflict', current} or {'ok'}.
local meta, base, retention = KEYS[1], ARGV[1], ARGV[2]
local n = tonumber(ARGV[3])
local tkey, refusal = find_task(meta, base, n, ARGV[4])
if not tkey then
  return refusal
end
local new = fields_from_args(9)
unindex(meta, base, n, tkey)
hset_fields(tkey, new, 'j', ARGV[6], 'v', ARGV[5], 's', ARGV[7])
index(base, n, new, true)
count(meta, new, 1)
append(meta, base, retention, ARGV[8])
return { 'ok' }
