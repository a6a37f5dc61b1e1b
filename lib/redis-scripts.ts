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
 * KEYS[2] this instance's hash of room -> count (its own absolute counts)
 * ARGV[1] this instance's id     ARGV[2] the TTL in ms
 * ARGV[3] the key prefix of every instance hash (`{prefix}:instance:`)
 * ARGV[4] the pub/sub channel of the "changed" hint
 * ARGV[5] `sync` (write these counts) or `retract` (remove this instance)
 * ARGV[6..] room, count, room, count... (counts > 0 only)
 *
 * Steps: drop every instance silent for longer than the TTL (Redis `TIME`, one clock
 * for every host); replace this instance's hash and last-seen time; publish the
 * hint if anything changed; sum the other live instances room by room.
 *
 * Reply: { live instances, total of the others, room, others' count, room, ... }.
 * The caller adds its own counts, which it knows without asking.
 *
 * Instance hashes are not in KEYS because their names are found in the sorted set;
 * they share the `{prefix}` hash tag, so they sit in the same slot on Redis Cluster.
 */
export const SYNC_SCRIPT = script(`
if redis.replicate_commands then redis.replicate_commands() end
local instances, own = KEYS[1], KEYS[2]
local id, ttl, instancePrefix, channel, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local changed = false

local silentBefore = '(' .. (now - ttl)
local silent = redis.call('ZRANGEBYSCORE', instances, '-inf', silentBefore)
if #silent > 0 then
  for _, other in ipairs(silent) do redis.call('DEL', instancePrefix .. other) end
  redis.call('ZREMRANGEBYSCORE', instances, '-inf', silentBefore)
  changed = true
end

local before = redis.call('HGETALL', own)
local old = {}
for i = 1, #before, 2 do old[before[i]] = before[i + 1] end
redis.call('DEL', own)
if mode == 'retract' then
  if redis.call('ZREM', instances, id) == 1 or #before > 0 then changed = true end
else
  for i = 6, #ARGV, 2 do
    local room, count = ARGV[i], ARGV[i + 1]
    if old[room] ~= count then changed = true end
    old[room] = nil
    redis.call('HSET', own, room, count)
  end
  if next(old) ~= nil then changed = true end
  if #ARGV >= 6 then redis.call('PEXPIRE', own, ttl) end
  if redis.call('ZADD', instances, now, id) == 1 and #ARGV >= 6 then changed = true end
end
-- A backstop: when every instance is gone, the keys go too.
redis.call('PEXPIRE', instances, ttl)

local ids = redis.call('ZRANGE', instances, 0, -1)
local totals, rooms, overall = {}, {}, 0
for _, other in ipairs(ids) do
  if other ~= id then
    local counts = redis.call('HGETALL', instancePrefix .. other)
    for i = 1, #counts, 2 do
      local room, count = counts[i], tonumber(counts[i + 1])
      if totals[room] == nil then
        totals[room] = 0
        rooms[#rooms + 1] = room
      end
      totals[room] = totals[room] + count
      overall = overall + count
    end
  end
end

if changed then redis.call('PUBLISH', channel, id) end
local reply = { #ids, overall }
for _, room in ipairs(rooms) do
  reply[#reply + 1] = room
  reply[#reply + 1] = totals[room]
end
return reply
`);
