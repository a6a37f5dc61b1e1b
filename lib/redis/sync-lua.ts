// The Lua source of the sync script; the design, keys and arguments are in redis-scripts.ts.
import { REPAIR_LUA } from './repair-lua.js';

export const SYNC_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local instances, own, ownSet, totals, meta, owners, checked = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local id, nonce, ttl, prefix, mode = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local expected, cursor, checkMs = tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local keep = 3 * ttl
local touched, touchedList, refsOut, refsList = {}, {}, {}, {}
local sumDelta = 0
-- A total changed (changes in two rooms may cancel out in the sum).
local totalsChanged = false

local function touch(room)
  if not touched[room] then touched[room] = true; touchedList[#touchedList + 1] = room end
end
local function roomKey(room) return prefix .. 'room:' .. room end
local function member(viewer, room) return #viewer .. ':' .. viewer .. room end
local function split(m)
  local colon = string.find(m, ':', 1, true)
  local length = tonumber(string.sub(m, 1, colon - 1))
  return string.sub(m, colon + 1, colon + length), string.sub(m, colon + length + 1)
end
local function refs(m, n)
  if refsOut[m] == nil then refsList[#refsList + 1] = m end
  refsOut[m] = n
end
local function addTotal(room, d)
  if d == 0 then return end
  touch(room)
  totalsChanged = true
  if redis.call('HINCRBY', totals, room, d) <= 0 then
    -- An empty room leaves nothing behind: what Redis keeps is bounded by the rooms live now.
    redis.call('HDEL', totals, room)
    redis.call('HDEL', checked, room)
  end
  sumDelta = sumDelta + d
end
-- The room hash is the record of every contribution: 'a'..id = streams without a viewer,
-- 'h'..#id..':'..id..viewer = id holds viewer, 'r'..viewer = how many instances hold it.
local function setAnon(holder, room, count)
  local key = roomKey(room)
  local old = tonumber(redis.call('HGET', key, 'a' .. holder) or '0')
  if count > 0 then
    redis.call('HSET', key, 'a' .. holder, count)
    redis.call('PEXPIRE', key, keep)
  elseif old > 0 then
    redis.call('HDEL', key, 'a' .. holder)
  end
  addTotal(room, count - old)
end
local function hold(holder, m)
  local viewer, room = split(m)
  local key = roomKey(room)
  if redis.call('HSETNX', key, 'h' .. #holder .. ':' .. holder .. viewer, 1) == 1 then
    local n = redis.call('HINCRBY', key, 'r' .. viewer, 1)
    if n == 1 then addTotal(room, 1) else touch(room) end
    refs(m, n)
    redis.call('PEXPIRE', key, keep)
  end
end
local function release(holder, m)
  local viewer, room = split(m)
  local key = roomKey(room)
  if redis.call('HDEL', key, 'h' .. #holder .. ':' .. holder .. viewer) == 1 then
    local n = redis.call('HINCRBY', key, 'r' .. viewer, -1)
    if n <= 0 then
      redis.call('HDEL', key, 'r' .. viewer)
      addTotal(room, -1)
      n = 0
    else
      touch(room)
    end
    refs(m, n)
  end
end
local function drop(other)
  for _, room in ipairs(redis.call('HKEYS', prefix .. 'instance:' .. other)) do setAnon(other, room, 0) end
  for _, m in ipairs(redis.call('SMEMBERS', prefix .. 'viewers:' .. other)) do release(other, m) end
  redis.call('DEL', prefix .. 'instance:' .. other, prefix .. 'viewers:' .. other)
  redis.call('HDEL', owners, other)
end
${REPAIR_LUA}
-- Every instance gone (or the set lost): whatever is left is nobody's.
if redis.call('EXISTS', instances) == 0 then wipe() end
local silentBefore = '(' .. (now - ttl)
for _, other in ipairs(redis.call('ZRANGEBYSCORE', instances, '-inf', silentBefore)) do drop(other) end
redis.call('ZREMRANGEBYSCORE', instances, '-inf', silentBefore)

local known = redis.call('ZSCORE', instances, id) ~= false
local owner = redis.call('HGET', owners, id)
local conflict = 0
if owner and owner ~= nonce then conflict = 1 end
local resend = 0
local scan = {}

if mode == 'retract' then
  if conflict == 0 then
    drop(id)
    redis.call('ZREM', instances, id)
  end
  if redis.call('ZCARD', instances) == 0 then
    -- The last instance left: nothing remains, and nobody listens.
    wipe()
    return { '0', 0, 0, 0, '', 0, 0 }
  end
elseif mode ~= 'full' and (not known or conflict == 1) then
  -- A delta needs the records it was made against; Redis lost them, or they are another process's.
  resend = 1
else
  redis.call('HSET', owners, id, nonce)
  local i = 9
  local n = tonumber(ARGV[i])
  if mode == 'delta' then
    for j = i + 1, i + 2 * n, 2 do
      local room, count = ARGV[j], tonumber(ARGV[j + 1])
      setAnon(id, room, count)
      if count > 0 then redis.call('HSET', own, room, count) else redis.call('HDEL', own, room) end
    end
  else
    -- Only what differs from this instance's record is written (a third of the rooms is re-asserted below).
    local old = {}
    local stored = redis.call('HGETALL', own)
    for j = 1, #stored, 2 do old[stored[j]] = stored[j + 1] end
    for j = i + 1, i + 2 * n, 2 do
      local room = ARGV[j]
      local was = old[room]
      old[room] = nil
      if mode == 'full' or was ~= ARGV[j + 1] then
        setAnon(id, room, tonumber(ARGV[j + 1]))
        redis.call('HSET', own, room, ARGV[j + 1])
      end
    end
    for room in pairs(old) do
      setAnon(id, room, 0)
      redis.call('HDEL', own, room)
    end
  end
  i = i + 2 * n + 1
  local adds = tonumber(ARGV[i])
  local addFrom, addTo = i + 1, i + adds
  i = addTo + 1
  local removes = tonumber(ARGV[i])
  local removeFrom, removeTo = i + 1, i + removes
  i = removeTo + 1
  if mode == 'full' then
    local old = {}
    for _, m in ipairs(redis.call('SMEMBERS', ownSet)) do old[m] = true end
    for j = addFrom, addTo do
      old[ARGV[j]] = nil
      redis.call('SADD', ownSet, ARGV[j])
      hold(id, ARGV[j])
    end
    for m in pairs(old) do
      redis.call('SREM', ownSet, m)
      release(id, m)
    end
  else
    for j = addFrom, addTo do
      redis.call('SADD', ownSet, ARGV[j])
      hold(id, ARGV[j])
    end
    for j = removeFrom, removeTo do
      redis.call('SREM', ownSet, ARGV[j])
      release(id, ARGV[j])
    end
    -- The set was lost or changed behind this instance's back: send the whole set.
    if redis.call('SCARD', ownSet) ~= expected then resend = 2 end
  end
  redis.call('PEXPIRE', own, 2 * ttl)
  redis.call('PEXPIRE', ownSet, 2 * ttl)
  redis.call('ZADD', instances, now, id)

  local reads = tonumber(ARGV[i])
  for j = i + 1, i + reads do touch(ARGV[j]) end
  i = i + reads + 1
  local checks = tonumber(ARGV[i])
  local checkFrom, checkTo = i + 1, i + checks
  i = checkTo + 1
  local holds = tonumber(ARGV[i])
  -- This instance's viewers in the checked rooms: a lost record comes back.
  for j = i + 1, i + holds do hold(id, ARGV[j]) end
  for j = checkFrom, checkTo do
    local room = ARGV[j]
    touch(room)
    local mine = redis.call('HGET', own, room)
    if mine then setAnon(id, room, tonumber(mine)) end
    redis.call('PEXPIRE', roomKey(room), keep)
    if now - tonumber(redis.call('HGET', checked, room) or '0') >= checkMs then
      redis.call('HSET', checked, room, now)
      checkRoom(room)
    end
  end
  if cursor ~= '' then
    local page = redis.call('HSCAN', totals, cursor, 'COUNT', 200)
    cursor = page[1]
    scan = page[2]
  end
end

local sum = redis.call('HINCRBY', meta, 'sum', sumDelta)
if now - tonumber(redis.call('HGET', meta, 'checked') or '0') >= checkMs then
  redis.call('HSET', meta, 'checked', now)
  local actual = 0
  for _, v in ipairs(redis.call('HVALS', totals)) do actual = actual + tonumber(v) end
  if actual ~= sum then
    sum = actual
    redis.call('HSET', meta, 'sum', sum)
    sumDelta = 1
  end
end
local seq = tonumber(redis.call('HGET', meta, 'seq') or '0')
local changed = totalsChanged or sumDelta ~= 0 or #refsList > 0
if changed or seq == 0 then
  -- Microseconds of Redis TIME: still increasing after Redis lost the key.
  seq = math.max(seq + 1, tonumber(time[1]) * 1000000 + tonumber(time[2]))
  redis.call('HSET', meta, 'seq', string.format('%.0f', seq))
end
seq = string.format('%.0f', seq)
for _, key in ipairs({ totals, meta, owners, checked }) do redis.call('PEXPIRE', key, keep) end
if redis.call('EXISTS', instances) == 1 then redis.call('PEXPIRE', instances, ttl) end

local roomValues = {}
for from = 1, #touchedList, 1000 do
  local rooms = { unpack(touchedList, from, math.min(from + 999, #touchedList)) }
  local values = redis.call('HMGET', totals, unpack(rooms))
  for j, room in ipairs(rooms) do
    roomValues[#roomValues + 1] = room
    roomValues[#roomValues + 1] = tonumber(values[j] or '0')
  end
end
local refValues = {}
for _, m in ipairs(refsList) do
  refValues[#refValues + 1] = m
  refValues[#refValues + 1] = refsOut[m]
end
if changed then
  redis.call('PUBLISH', prefix .. 'changed', cjson.encode({ i = id, s = seq, t = sum, r = roomValues, m = refValues }))
end
local reply = { seq, sum, resend, conflict, cursor, #roomValues / 2 }
for _, v in ipairs(roomValues) do reply[#reply + 1] = v end
reply[#reply + 1] = #refValues / 2
for _, v in ipairs(refValues) do reply[#reply + 1] = v end
for _, v in ipairs(scan) do reply[#reply + 1] = v end
return reply
`;
