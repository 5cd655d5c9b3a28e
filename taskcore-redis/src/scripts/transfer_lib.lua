-- Helpers of whole-room transfer (see transfer.rs), prepended after lib.lua to the import
-- scripts. A room's fixed keys come in the order of RoomKeys::fixed in keys.rs; the positions
-- below name the ones the scripts use.
local FIXED_META, FIXED_MEMBERS, FIXED_MKEYS, FIXED_IDEM = 1, 2, 3, 4

-- The task number (decimal) at the tail of an index member.
local function member_number(member)
  return dec(tonumber(string.sub(member, -20)))
end

-- Calls fn(number) for every task of the room with key base `base`, in number order, reading
-- its number index a thousand members at a time.
local function each_number(base, fn)
  local numbers = base .. ':z:number'
  local total = redis.call('ZCARD', numbers)
  for start = 0, total - 1, 1000 do
    for _, member in ipairs(redis.call('ZRANGE', numbers, start, start + 999)) do
      fn(member_number(member))
    end
  end
end

-- UNLINKs `keys` (a list), a thousand at a time; UNLINK frees large values in the background.
local function unlink_all(keys)
  for i = 1, #keys, 1000 do
    redis.call('UNLINK', unpack(keys, i, math.min(i + 999, #keys)))
  end
end

-- Deletes every key of the room (or staged import) with key base `base`: the hash of each task
-- its number index holds, the tag and assignee sets those tasks' indexed fields name (a set
-- exists only while a task is in it), and `fixed`, its fixed keys.
local function drop_room(base, fixed)
  local tasks, sets = {}, {}
  each_number(base, function(num)
    local tkey = base .. ':t:' .. num
    local f = redis.call('HMGET', tkey, 'tags', 'a')
    for _, tag in ipairs(tag_list(f[1] or '')) do sets[base .. ':s:tag:' .. tag] = true end
    if f[2] and f[2] ~= '' then sets[base .. ':s:who:' .. f[2]] = true end
    tasks[#tasks + 1] = tkey
  end)
  unlink_all(tasks)
  local keys = {}
  for key in pairs(sets) do keys[#keys + 1] = key end
  for _, key in ipairs(fixed) do keys[#keys + 1] = key end
  unlink_all(keys)
end
