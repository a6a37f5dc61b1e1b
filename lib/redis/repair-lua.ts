// The self-repair part of the sync script (lib/redis/scripts.ts, "Self-repair"): Lua spliced into
// SYNC_LUA, using its locals (instances, prefix, roomKey, refs, touch, sumDelta...).
export const REPAIR_LUA = `
local function wipe()
  for _, hash in ipairs({ totals, checked }) do
    for _, room in ipairs(redis.call('HKEYS', hash)) do redis.call('DEL', roomKey(room)) end
  end
  redis.call('DEL', totals, meta, owners, checked)
end
-- Rebuild one room's derived values from the instances' own records (self-repair).
local function checkRoom(room)
  local key = roomKey(room)
  local fields = redis.call('HGETALL', key)
  local live, held, oldRefs, total = {}, {}, {}, 0
  local function isLive(holder)
    if live[holder] == nil then live[holder] = redis.call('ZSCORE', instances, holder) ~= false end
    return live[holder]
  end
  for j = 1, #fields, 2 do
    local f, v = fields[j], fields[j + 1]
    local kind = string.sub(f, 1, 1)
    if kind == 'a' then
      local holder = string.sub(f, 2)
      local n = 0
      if isLive(holder) then n = tonumber(redis.call('HGET', prefix .. 'instance:' .. holder, room) or '0') end
      if n > 0 then
        total = total + n
        if tostring(n) ~= v then redis.call('HSET', key, f, n) end
      else
        redis.call('HDEL', key, f)
      end
    elseif kind == 'h' then
      local colon = string.find(f, ':', 2, true)
      local length = tonumber(string.sub(f, 2, colon - 1))
      local holder, viewer = string.sub(f, colon + 1, colon + length), string.sub(f, colon + length + 1)
      if isLive(holder) and redis.call('SISMEMBER', prefix .. 'viewers:' .. holder, member(viewer, room)) == 1 then
        held[viewer] = (held[viewer] or 0) + 1
      else
        redis.call('HDEL', key, f)
      end
    elseif kind == 'r' then
      oldRefs[string.sub(f, 2)] = v
    else
      redis.call('HDEL', key, f)
    end
  end
  for viewer, n in pairs(held) do
    total = total + 1
    if oldRefs[viewer] ~= tostring(n) then
      redis.call('HSET', key, 'r' .. viewer, n)
      refs(member(viewer, room), n)
      touch(room)
    end
    oldRefs[viewer] = nil
  end
  for viewer in pairs(oldRefs) do
    redis.call('HDEL', key, 'r' .. viewer)
    refs(member(viewer, room), 0)
    touch(room)
  end
  local old = tonumber(redis.call('HGET', totals, room) or '0')
  if old ~= total then
    touch(room)
    totalsChanged = true
    sumDelta = sumDelta + total - old
    if total > 0 then redis.call('HSET', totals, room, total) else redis.call('HDEL', totals, room) end
  end
  if total == 0 then redis.call('HDEL', checked, room) end
end
`;
