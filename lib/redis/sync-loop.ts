import type { Emitter } from 'mitt';
import { toError } from '../util/events.js';
import type { LocalStreams, Sent } from './local-streams.js';
import type { RemoteTotals } from './remote-totals.js';
import { withTimeout } from './script-runner.js';
import type { RedisScriptRunner } from './script-runner.js';
import { member, parseSyncReply, syncArguments } from './sync-protocol.js';
import type { StoreKeys, SyncIdentity, SyncMode, SyncReply } from './sync-protocol.js';
import type { CountStoreEvents } from '../types/index.js';
import type { Warnings } from '../config/warnings.js';

/** How soon after one script call the next may start: bounds calls per second, whatever the audience. */
const MIN_SYNC_SPACING_MS = 50;

interface SyncLoopOptions {
  readonly runner: RedisScriptRunner;
  readonly keys: StoreKeys;
  readonly identity: SyncIdentity;
  readonly heartbeatMs: number;
  readonly local: LocalStreams;
  readonly remote: RemoteTotals;
  readonly warnings: Warnings;
  readonly events: Emitter<CountStoreEvents>;
  /** Each heartbeat, before its call. */
  readonly onBeat: () => void;
  /** Redis unreachable for a TTL: forget the totals read. */
  readonly onForget: () => void;
  /** Apply a reply (`apply`) that may change the counts of `rooms`. */
  readonly onValues: (rooms: Iterable<string>, apply: () => void) => void;
  /** No call is unanswered any more. */
  readonly onIdle: () => void;
  readonly onDuplicate: () => void;
}

/**
 * When the store calls its script, and with what: one call per burst of changes (at most one
 * unanswered, at least 50 ms apart), one per heartbeat, and the retraction on close.
 */
export class RedisSyncLoop {
  private heartbeat: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private wanted = false;
  private beatWanted = false;
  private beatMissed = false;
  /** Send everything next time: first call, after a failed call, after Redis lost this instance. */
  private resendAll = true;
  private lastSyncAt = -Infinity;
  private turn = 0;
  private sentAny = false;
  private acknowledged = 0;
  private readAt = 0;
  private unreachable = false;
  private stopped = false;

  constructor(private readonly o: SyncLoopOptions) {}

  /** False from a failed call until one succeeds. */
  get reachable(): boolean {
    return !this.unreachable;
  }

  /** A call is in flight, or unanswered. */
  get busy(): boolean {
    return this.syncing !== undefined || this.o.runner.busy;
  }

  start(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    // A random phase: instances started together must not all beat (and load Redis) at once.
    this.heartbeat = setTimeout(() => {
      this.heartbeat = setInterval(() => this.beat(), this.o.heartbeatMs);
      this.heartbeat.unref();
      this.beat();
    }, Math.random() * this.o.heartbeatMs);
    this.heartbeat.unref();
    this.wanted = true;
    this.beatWanted = true;
    return this.run();
  }

  beat(): void {
    if (this.stopped) return;
    if (this.unreachable && Date.now() - this.readAt > this.o.identity.ttlMs) this.o.onForget();
    this.o.onBeat();
    if (this.busy) {
      // Runs as soon as the call in flight is answered.
      this.beatMissed = true;
      return;
    }
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    this.wanted = true;
    this.beatWanted = true;
    void this.run();
  }

  /** Coalesce: one script call for every change since the last one, spaced out. */
  request(): void {
    this.wanted = true;
    // While Redis is unreachable only the heartbeat tries again.
    if (this.stopped || this.unreachable || this.busy || this.syncTimer) return;
    const wait = Math.max(0, this.lastSyncAt + MIN_SYNC_SPACING_MS - Date.now());
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      void this.run();
    }, wait);
    this.syncTimer.unref();
  }

  /** Stop calling; retract this instance from Redis when it ever wrote anything. */
  async stop(hadCounts: boolean): Promise<void> {
    this.stopped = true;
    clearTimeout(this.heartbeat);
    clearInterval(this.heartbeat);
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    // A call in flight must not land after the retraction and bring this instance back.
    await this.syncing;
    if (!this.sentAny && !hadCounts) return;
    try {
      const { keys, args } = syncArguments(this.o.keys, this.o.identity, {
        mode: 'retract', anon: [], adds: [], removes: [], expectedSize: 0, reads: [], checks: [], holds: [], cursor: '', rooms: [],
      });
      await withTimeout(this.o.runner.run(keys, args), this.o.heartbeatMs);
    } catch (error) {
      // Redis drops this instance after the TTL anyway.
      this.failed(error);
    }
  }

  /** One warning and one `error` event per outage, however many calls fail during it. */
  failed(thrown: unknown): void {
    if (this.unreachable) return;
    this.unreachable = true;
    const error = toError(thrown);
    const message = `RedisCountStore cannot reach Redis (${error.message}); streams show this instance's count until it is back, and the store retries every ${this.o.heartbeatMs} ms.`;
    this.o.warnings.warn('WRN_USER_COUNTER_REDIS_UNREACHABLE', message, { repeat: true });
    this.o.events.emit('error', new Error(`express-user-counter: ${message}`, { cause: error }));
  }

  private run(): Promise<void> {
    if (this.syncing) return this.syncing;
    if (this.stopped || !this.wanted || this.o.runner.busy) return Promise.resolve();
    this.wanted = false;
    const mode: Exclude<SyncMode, 'retract'> = this.resendAll ? 'full' : this.beatWanted ? 'beat' : 'delta';
    this.resendAll = false;
    this.beatWanted = false;
    this.lastSyncAt = Date.now();
    this.sentAny = true;
    const { local, remote } = this.o;
    const sent = local.take(mode);
    const rooms = [...sent.rooms];
    const beat = mode !== 'delta';
    const reads = beat ? [...local.knownRooms()] : [];
    const slice = beat ? local.slice(this.turn++) : { rooms: [], holds: [] };
    const { keys, args } = syncArguments(this.o.keys, this.o.identity, {
      mode,
      anon: rooms.filter(([, room]) => room.anon !== undefined && (!beat || room.anon > 0)).map(([name, room]) => [name, room.anon!] as const),
      adds: sent.members ?? rooms.flatMap(([name, room]) => room.adds.map((viewer) => member(viewer, name))),
      removes: sent.members ? [] : rooms.flatMap(([name, room]) => room.removes.map((viewer) => member(viewer, name))),
      expectedSize: local.sizeAfter(sent),
      reads,
      checks: slice.rooms,
      holds: slice.holds,
      cursor: beat ? remote.nextCursor() : '',
      rooms: [...sent.rooms.keys(), ...reads],
    });
    const answered = this.o.runner.run(keys, args).then((raw) => this.onReply(sent, beat, parseSyncReply(raw)));
    answered.catch(() => undefined).finally(() => this.continue());
    this.syncing = withTimeout(answered, this.o.heartbeatMs)
      .then(
        () => this.recovered(),
        (error) => {
          // Whether it landed is unknown: the next call sends everything.
          this.resendAll = true;
          this.failed(error);
        },
      )
      .finally(() => {
        this.syncing = undefined;
        this.continue();
      });
    return this.syncing;
  }

  private onReply(sent: Sent, beat: boolean, reply: SyncReply): void {
    const { local, remote } = this.o;
    if (reply.conflict && this.acknowledged > 0) this.o.onDuplicate();
    if (reply.resend === 1) {
      // Nothing was applied: Redis lost this instance (or another process wrote under its id).
      this.resendAll = true;
      this.wanted = true;
      return;
    }
    this.acknowledged += 1;
    this.readAt = Date.now();
    const rooms = new Set([...sent.rooms.keys(), ...reply.rooms.map(([room]) => room), ...reply.scan.map(([room]) => room)]);
    if (beat && reply.cursor === '0') for (const room of remote.rooms()) rooms.add(room);
    this.o.onValues(rooms, () => {
      local.acknowledge(sent);
      remote.apply(reply, (name) => this.holdsAny(name));
      if (beat) remote.applyScan(reply.scan, reply.cursor, reply.seq, (room) => local.own(room) > 0);
      for (const [room, change] of sent.rooms) {
        for (const gone of change.removes) if (!local.holds(room, gone)) remote.release(member(gone, room));
      }
    });
    if (reply.resend === 2) {
      this.resendAll = true;
      this.wanted = true;
    }
  }

  private holdsAny(name: string): boolean {
    const split = splitMember(name);
    return split !== undefined && this.o.local.holds(split.room, split.viewer);
  }

  private continue(): void {
    if (this.stopped || this.busy) return;
    this.o.onIdle();
    if (this.beatMissed) {
      this.beatMissed = false;
      this.wanted = true;
      this.beatWanted = true;
      void this.run();
    } else if (this.wanted) {
      this.request();
    }
  }

  private recovered(): void {
    if (!this.unreachable) return;
    this.unreachable = false;
    const back = `Redis is reachable again; instance ${this.o.identity.instanceId} rewrote its counts and re-read the totals.`;
    this.o.warnings.warn('WRN_USER_COUNTER_REDIS_BACK', back, { repeat: true });
  }
}

/** Split a member (`<bytes>:<viewer><room>`) back into its viewer and room. */
export function splitMember(name: string): { viewer: string; room: string } | undefined {
  const colon = name.indexOf(':');
  const bytes = Number(name.slice(0, colon));
  if (colon < 1 || !Number.isInteger(bytes)) return undefined;
  const rest = Buffer.from(name.slice(colon + 1));
  return { viewer: rest.subarray(0, bytes).toString(), room: rest.subarray(bytes).toString() };
}
