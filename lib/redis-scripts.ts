import { createHash } from 'node:crypto';

/** A Lua script and its SHA1, for EVALSHA with a fallback to EVAL when Redis answers NOSCRIPT. */
export interface RedisScript {
  readonly source: string;
  readonly sha1: string;
}

function script(source: string): RedisScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

/**
 * The one script every instance runs: on every change burst, every heartbeat, every
 * "changed" hint, and (mode `retract`) on close.
 *
 * KEYS[1] the sorted set of instances, scored by last-seen time (ms, Redis's clock)
 * KEYS[2] this instance's hash of room -> count of streams without a viewer (absolute)
 * KEYS[3] this instance's set of viewers, one member per viewer and room: `<length>:<viewer><room>`
 * ARGV[1] this instance's id     ARGV[2] the TTL in ms
 * ARGV[3] the key prefix of every instance hash (`{prefix}:instance:`)
 * ARGV[4] the pub/sub channel of the "changed" hint
 * ARGV[5] `sync` (write these counts) or `retract` (remove this instance)
 * ARGV[6] the key prefix of every viewer set (`{prefix}:viewers:`)
 * ARGV[7] `full` (ARGV's members are the whole set) or `delta` (members to add, then to remove)
 * ARGV[8] n: how many of the next arguments are counts
 * ARGV[9..8+n] room, count, room, count... (counts > 0 only)
 * then: a = how many members to add; a members; every remaining argument is a member to remove
 *
 * Steps: drop every instance silent for longer than the TTL (Redis `TIME`, one clock
 * for every host); replace this instance's counts and last-seen time; apply its viewers
 * (a delta only when Redis still has this instance: after a drop or a restart the reply
 * asks for the whole set); publish the hint if anything changed; sum the other live
 * instances room by room, each viewer once however many instances hold it.
 *
 * Reply: { live instances, 1 when the whole viewer set must be sent again else 0, then per
 * room: room, the others' streams without a viewer, the others' viewers this instance does
 * not hold (as written), k, and the k viewers held both here and elsewhere }. The caller adds
 * its own streams and viewers, which it knows without asking; the shared viewers let it stay
 * exact when one of its own leaves before the next call.
 *
 * Instance keys are not in KEYS because their names are found in the sorted set;
 * they share the `{prefix}` hash tag, so they sit in the same slot on Redis Cluster.
 */
export const SYNC_SCRIPT = script(`
if redis.replicate_commands then redis.replicate_commands() end
local instances, own, ownViewers = KEYS[1], KEYS[2], KEYS[3]
local id, ttl, instancePrefix, channel, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local viewerPrefix, viewerMode, countArgs = ARGV[6], ARGV[7], tonumber(ARGV[8])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local changed = false

local silentBefore = '(' .. (now - ttl)
local silent = redis.call('ZRANGEBYSCORE', instances, '-inf', silentBefore)
if #silent > 0 then
  for _, other in ipairs(silent) do redis.call('DEL', instancePrefix .. other, viewerPrefix .. other) end
  redis.call('ZREMRANGEBYSCORE', instances, '-inf', silentBefore)
  changed = true
end
local known = redis.call('ZSCORE', instances, id)
local resend = 0

local before = redis.call('HGETALL', own)
local old = {}
for i = 1, #before, 2 do old[before[i]] = before[i + 1] end
redis.call('DEL', own)
if mode == 'retract' then
  if redis.call('ZREM', instances, id) == 1 or #before > 0 then changed = true end
  if redis.call('DEL', ownViewers) == 1 then changed = true end
else
  for i = 9, 8 + countArgs, 2 do
    local room, count = ARGV[i], ARGV[i + 1]
    if old[room] ~= count then changed = true end
    old[room] = nil
    redis.call('HSET', own, room, count)
  end
  if next(old) ~= nil then changed = true end
  if countArgs > 0 then redis.call('PEXPIRE', own, ttl) end

  local at = 9 + countArgs
  local adds = tonumber(ARGV[at])
  local firstAdd, lastAdd = at + 1, at + adds
  if viewerMode == 'full' then
    local had = {}
    for _, member in ipairs(redis.call('SMEMBERS', ownViewers)) do had[member] = true end
    redis.call('DEL', ownViewers)
    for i = firstAdd, lastAdd do
      if had[ARGV[i]] then had[ARGV[i]] = nil else changed = true end
      redis.call('SADD', ownViewers, ARGV[i])
    end
    if next(had) ~= nil then changed = true end
  elseif not known then
    -- A delta needs the set it was made against; Redis no longer has it.
    resend = 1
  else
    for i = firstAdd, lastAdd do
      if redis.call('SADD', ownViewers, ARGV[i]) == 1 then changed = true end
    end
    for i = lastAdd + 1, #ARGV do
      if redis.call('SREM', ownViewers, ARGV[i]) == 1 then changed = true end
    end
  end
  local hasViewers = redis.call('EXISTS', ownViewers) == 1
  -- Longer than the TTL: a delta must never meet a set that expired while this instance still
  -- counted as live; the drop of a silent instance deletes it.
  if hasViewers then redis.call('PEXPIRE', ownViewers, 2 * ttl) end
  if redis.call('ZADD', instances, now, id) == 1 and (countArgs > 0 or hasViewers) then changed = true end
end
-- A backstop: when every instance is gone, the keys go too.
redis.call('PEXPIRE', instances, ttl)

local ids = redis.call('ZRANGE', instances, 0, -1)
local rooms, anonymous, only, shared = {}, {}, {}, {}
local function see(room)
  if anonymous[room] == nil then
    anonymous[room], only[room], shared[room] = 0, 0, {}
    rooms[#rooms + 1] = room
  end
end
local seen = {}
for _, other in ipairs(ids) do
  if other ~= id then
    local counts = redis.call('HGETALL', instancePrefix .. other)
    for i = 1, #counts, 2 do
      local room = counts[i]
      see(room)
      anonymous[room] = anonymous[room] + tonumber(counts[i + 1])
    end
    for _, member in ipairs(redis.call('SMEMBERS', viewerPrefix .. other)) do
      if not seen[member] then
        seen[member] = true
        local colon = string.find(member, ':', 1, true)
        local length = tonumber(string.sub(member, 1, colon - 1))
        local viewer = string.sub(member, colon + 1, colon + length)
        local room = string.sub(member, colon + length + 1)
        see(room)
        if redis.call('SISMEMBER', ownViewers, member) == 1 then
          shared[room][#shared[room] + 1] = viewer
        else
          only[room] = only[room] + 1
        end
      end
    end
  end
end

if changed then redis.call('PUBLISH', channel, id) end
local reply = { #ids, resend }
for _, room in ipairs(rooms) do
  reply[#reply + 1] = room
  reply[#reply + 1] = anonymous[room]
  reply[#reply + 1] = only[room]
  reply[#reply + 1] = #shared[room]
  for _, viewer in ipairs(shared[room]) do reply[#reply + 1] = viewer end
end
return reply
`);
