import { createHash } from 'node:crypto';
import { SYNC_LUA } from './sync-lua.js';

/*
 * Design: what one change costs Redis does not grow with the number of instances.
 *
 * Records (every key under the one hash tag `{prefix}`):
 *   instances             sorted set: id -> last-seen time (ms, Redis TIME). Liveness is this, by TTL.
 *   instance:<id>         hash: room -> this instance's streams without a viewer (absolute).
 *   viewers:<id>          set of `<bytes>:<viewer><room>`: this instance's viewers.
 *   owners                hash: id -> a random nonce per process (two processes given one id are told).
 *   room:<room>           hash, the contributions to one room: `a<id>` -> streams without a viewer,
 *                         `h<bytes>:<id><viewer>` -> 1 (id holds viewer), `r<viewer>` -> instances holding it.
 *   totals                hash: room -> count (streams without a viewer + distinct viewers).
 *   meta                  hash: `sum` (every room's count), `seq` (the version of every value), `checked`.
 *   checked               hash: room -> when its derived values were last rebuilt (rooms with a total only).
 *
 * Every field named by a room goes when the room's total does, so what Redis keeps is bounded
 * by the rooms live now, never by every name clients have tried (and `wipe()` likewise).
 *
 * The instance's own records are absolute and its own, so that a crash or a lost message cannot
 * leave a shared total wrong for good (docs/redis.md); the room hashes, `totals` and `sum` are
 * derived from them, kept up to date by the script itself,
 * atomically: adding `a<id>` adds (new - old) to the total, `HSETNX h...` that succeeds adds one to
 * `r<viewer>` and, at 1, one to the total. Each step is idempotent against the room hash, so a
 * delta sent twice, or a record re-sent after a loss, never counts twice. Dropping a silent
 * instance (by TTL, Redis's clock) walks its own records and subtracts exactly what it added.
 *
 * One script call per burst of changes, by the instance that changed: it writes the changed rooms
 * and viewers, and returns and publishes (`{prefix}:changed`) the new totals of the rooms it
 * touched and the holder counts of the viewers it touched, with `seq`. The others apply the hint
 * without calling Redis (pub/sub is still only a hint: the heartbeat re-reads). So a change costs
 * O(its rooms) in Redis; the only part that grows with instances is the PUBLISH fan-out.
 * Each heartbeat an instance re-writes its own counts (absolute), reads the totals of the rooms it
 * shows, checks a third of its rooms (below) and reads one HSCAN page of `totals` (rooms it does
 * not show, for `rooms()`): O(its own rooms), whatever the others hold.
 *
 * Values carry `seq` (Redis TIME in µs, bumped per change): an instance applies a room's total
 * only if it is at least as new as the one it has. Its own count is the total it read plus what
 * changed here since the state that total includes, so a join shows at once and counts once.
 *
 * Self-repair, within ttlMs plus three heartbeats:
 * - every delta carries the size the viewer set must have after it; a mismatch (the set was lost
 *   or changed) and an unknown or foreign instance make the store send its whole state again;
 * - each heartbeat re-writes this instance's counts and re-asserts its viewers in a third of its
 *   rooms, and rebuilds each of those rooms from the instances' own records (dead holders
 *   removed, `r<viewer>` and the total recounted) unless another instance did within ttlMs;
 * - `sum` is recounted from `totals` once per ttlMs; when `instances` is gone, everything derived
 *   is wiped before the next write rebuilds it.
 *
 * KEYS: the seven fixed keys and the room hash of every room the call names; the rooms of a
 * dropped instance and of a rebuild are found in Redis, so they cannot be declared (one hash tag:
 * one Cluster slot).
 * ARGV: id, nonce, ttl, key prefix, mode (`delta` | `beat` | `full` | `retract`), the viewer set's
 * size after this call, HSCAN cursor (`''`: none), rebuild interval; then five lists, each a
 * count and its items: room/count pairs (changed rooms; `beat` and `full` send all), members to
 * add, members to remove (`full`: the adds are the whole set), rooms to read, rooms to check, and
 * this instance's members in the checked rooms.
 * Reply: seq, sum, resend (1: nothing applied, send everything; 2: applied, send everything),
 * duplicate id (1), next cursor, n + room/total pairs, n + member/holders pairs, then the HSCAN page.
 */

/** A Lua script and its SHA1, for EVALSHA with a fallback to EVAL when Redis answers NOSCRIPT. */
export interface RedisScript {
  readonly source: string;
  readonly sha1: string;
}

function script(source: string): RedisScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

/** The one script every instance runs: per change burst, per heartbeat, and on close. */
export const SYNC_SCRIPT = script(SYNC_LUA);
