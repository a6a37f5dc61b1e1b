import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Emitter } from 'mitt';
import { createStoreEvents, toError } from './events.js';
import { checkRedisStoreOptions } from './redis-count-store-options.js';
import type { RedisCountStoreOptions, RedisSendCommand, RedisSubscribe, RedisUnsubscribe } from './redis-count-store-options.js';
import { SYNC_SCRIPT } from './redis-scripts.js';
import type { RedisScript } from './redis-scripts.js';
import type { CountStore, CountStoreEvents, Logger } from './types.js';

/** How soon after one script call the next may start: bounds calls per second, whatever the audience. */
const MIN_SYNC_SPACING_MS = 50;
/** What the other live instances hold in one room. */
interface OthersInRoom {
  /** Their streams without a viewer. */
  readonly anonymous: number;
  /** Their viewers that this instance did not hold when it last wrote its set. */
  readonly only: number;
  /** Viewers both this instance (as written) and another hold: counted here only once this one's streams are gone. */
  readonly shared: readonly string[];
}
interface ScriptReply {
  /** The whole viewer set must be written again (Redis lost this instance). */
  readonly resend: boolean;
  readonly others: Map<string, OthersInRoom>;
}

/**
 * Counts across processes and hosts through Redis, with the client you already use.
 *
 * Each instance writes its own absolute counts per room (never a shared INCR/DECR total)
 * on every change burst and every heartbeat; the total is the sum over the live instances.
 * An instance silent for longer than `ttlMs` (Redis's clock) is dropped by whichever
 * instance runs the script next, so a crashed process stops counting without a clean
 * shutdown. `count()` is this instance's own count, known at once, plus the other
 * instances' totals as last read. While Redis is unreachable, streams keep working on
 * the local count; the others' totals are kept for `ttlMs` after the last good read.
 *
 * Viewers (`increment(room, viewer)`): each instance keeps a set of its viewers per room in
 * Redis, changed by deltas (the whole set only after Redis lost it), and the script counts
 * the union over live instances, so a viewer with tabs on two instances counts once.
 * Between two script calls a viewer who joins here while another instance already holds it
 * may count twice; the next call (within `MIN_SYNC_SPACING_MS` plus a round trip) corrects it.
 */
export class RedisCountStore implements CountStore {
  readonly events: Emitter<CountStoreEvents>;
  readonly countsViewers = true;
  /** This instance's name in Redis. */
  readonly instanceId: string;
  readonly prefix: string;
  readonly heartbeatMs: number;
  readonly ttlMs: number;

  private readonly sendCommand: RedisSendCommand;
  private readonly subscribeFn: RedisSubscribe | undefined;
  private readonly logger: Logger;
  private readonly keys: {
    instances: string;
    own: string;
    instancePrefix: string;
    channel: string;
    ownViewers: string;
    viewerPrefix: string;
  };

  /** This instance's streams without a viewer, per room. */
  private readonly local = new Map<string, number>();
  /** This instance's viewers per room, each with its number of streams. */
  private readonly localViewers = new Map<string, Map<string, number>>();
  /** Viewer-set members joined or left since the last script call was sent. */
  private readonly added = new Set<string>();
  private readonly removed = new Set<string>();
  /** Send the whole viewer set next time (first call, after a failed call, after Redis lost it). */
  private resendViewers = true;
  private others = new Map<string, OthersInRoom>();
  private othersReadAt = 0;
  /** The total over rooms, or undefined when it must be summed again. */
  private total: number | undefined = 0;

  private initializing: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribe: RedisUnsubscribe | undefined;
  private subscribed = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private syncWanted = false;
  private beatMissed = false;
  private lastSyncAt = -Infinity;
  private sent = 0;
  private applied = 0;
  private unreachable = false;
  private closing: Promise<void> | undefined;

  constructor(options: RedisCountStoreOptions) {
    const given = checkRedisStoreOptions(options);
    this.sendCommand = given.sendCommand;
    this.subscribeFn = given.subscribe;
    this.logger = given.logger ?? console;
    this.prefix = given.prefix ?? 'user-counter';
    this.heartbeatMs = given.heartbeatMs ?? 5000;
    this.ttlMs = given.ttlMs ?? 15_000;
    this.instanceId = given.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    const tag = `{${this.prefix}}`;
    this.keys = {
      instances: `${tag}:instances`,
      own: `${tag}:instance:${this.instanceId}`,
      instancePrefix: `${tag}:instance:`,
      channel: `${tag}:changed`,
      ownViewers: `${tag}:viewers:${this.instanceId}`,
      viewerPrefix: `${tag}:viewers:`,
    };
    this.events = createStoreEvents<CountStoreEvents>();
  }

  /** Subscribe to the hint, write this instance's counts, read the totals, start the heartbeat. Never rejects for an unreachable Redis. */
  init(): Promise<void> {
    this.initializing ??= this.start();
    return this.initializing;
  }

  increment(room: string, viewer?: string): void {
    if (this.closing) return;
    const before = this.count(room);
    if (viewer === undefined) {
      this.local.set(room, (this.local.get(room) ?? 0) + 1);
    } else {
      let viewers = this.localViewers.get(room);
      if (!viewers) this.localViewers.set(room, (viewers = new Map()));
      const held = viewers.get(viewer) ?? 0;
      viewers.set(viewer, held + 1);
      // Another stream of a viewer already here changes nothing to write.
      if (held > 0) return;
      this.viewerSetChanged(member(viewer, room), this.removed, this.added);
    }
    this.changed(room, before);
    // Without the middleware nobody else calls init(), and the heartbeat must run.
    if (this.initializing) this.requestSync();
    else void this.init();
  }

  decrement(room: string, viewer?: string): void {
    if (this.closing) return;
    const before = this.count(room);
    if (viewer === undefined) {
      const count = this.local.get(room) ?? 0;
      if (count === 0) return;
      if (count === 1) this.local.delete(room);
      else this.local.set(room, count - 1);
    } else {
      const viewers = this.localViewers.get(room);
      const held = viewers?.get(viewer) ?? 0;
      if (held === 0) return;
      if (held > 1) {
        viewers!.set(viewer, held - 1);
        return;
      }
      viewers!.delete(viewer);
      if (viewers!.size === 0) this.localViewers.delete(room);
      this.viewerSetChanged(member(viewer, room), this.added, this.removed);
    }
    this.changed(room, before);
    this.requestSync();
  }

  count(room?: string): number {
    if (room === undefined) {
      this.total ??= [...this.rooms()].reduce((sum, name) => sum + this.count(name), 0);
      return this.total;
    }
    const mine = this.localViewers.get(room);
    let count = (this.local.get(room) ?? 0) + (mine?.size ?? 0);
    const others = this.others.get(room);
    if (others) {
      count += others.anonymous + others.only;
      for (const viewer of others.shared) if (!mine?.has(viewer)) count += 1;
    }
    return count;
  }

  rooms(): Set<string> {
    return new Set([...this.local.keys(), ...this.localViewers.keys(), ...this.others.keys()]);
  }

  /**
   * Rewrite this instance's counts and re-read the totals now, without waiting for the
   * heartbeat: call it when the subscriber connection is ready again, since a hint sent
   * while it was away is lost. Does nothing before `init()` or after `close()`.
   */
  refresh(): void {
    if (this.initializing && !this.closing) this.beat();
  }

  /** Stop the heartbeat and the subscription, and remove this instance's counts from Redis at once. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async start(): Promise<void> {
    if (this.closing) return;
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
    this.heartbeat.unref();
    // Not awaited: a client may hold the subscription until it connects.
    this.subscribeToHint();
    this.syncWanted = true;
    await this.runSync();
  }

  private subscribeToHint(): void {
    if (!this.subscribeFn || this.subscribed || this.closing) return;
    this.subscribed = true;
    Promise.resolve()
      .then(() => this.subscribeFn!(this.keys.channel, (message) => this.onHint(message)))
      .then(
        async (unsubscribe) => {
          if (typeof unsubscribe === 'function') this.unsubscribe = unsubscribe;
          if (this.closing) await this.stopSubscription();
        },
        (error: unknown) => {
          // Tried again at the next heartbeat.
          this.subscribed = false;
          this.failed(error);
        },
      );
  }

  private onHint(message: unknown): void {
    if (String(message) === this.instanceId) return;
    this.requestSync();
  }

  private beat(): void {
    if (this.closing) return;
    if (this.unreachable && Date.now() - this.othersReadAt > this.ttlMs) this.forgetOthers();
    this.subscribeToHint();
    if (this.syncing) {
      // Runs as soon as the call in flight is answered or times out.
      this.beatMissed = true;
      return;
    }
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    this.syncWanted = true;
    void this.runSync();
  }

  /** Coalesce: one script call for every change (and hint) since the last one, spaced out. */
  private requestSync(): void {
    this.syncWanted = true;
    // While Redis is unreachable only the heartbeat tries again.
    if (this.closing || this.unreachable || this.syncing || this.syncTimer) return;
    const wait = Math.max(0, this.lastSyncAt + MIN_SYNC_SPACING_MS - Date.now());
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      void this.runSync();
    }, wait);
    this.syncTimer.unref();
  }

  private runSync(): Promise<void> {
    if (this.syncing || this.closing || !this.syncWanted) return this.syncing ?? Promise.resolve();
    this.syncWanted = false;
    this.lastSyncAt = Date.now();
    const seq = ++this.sent;
    const counts: string[] = [];
    for (const [room, count] of this.local) counts.push(room, String(count));
    const full = this.resendViewers;
    this.resendViewers = false;
    const adds = full ? this.viewerMembers() : [...this.added];
    const removes = full ? [] : [...this.removed];
    this.added.clear();
    this.removed.clear();
    const call = this.callScript('sync', counts, full ? 'full' : 'delta', adds, removes);
    // A late answer (after the timeout) is still applied when nothing newer has been.
    call.then((reply) => this.applyReply(seq, reply), () => undefined);
    this.syncing = this.withTimeout(call).then(
      () => this.recovered(),
      (error) => {
        // Whether the deltas landed is unknown: the next call writes the whole set.
        this.resendViewers = true;
        this.failed(error);
      },
    ).finally(() => {
      this.syncing = undefined;
      if (this.beatMissed) {
        this.beatMissed = false;
        this.syncWanted = true;
        void this.runSync();
      } else if (this.syncWanted) {
        this.requestSync();
      }
    });
    return this.syncing;
  }

  private applyReply(seq: number, reply: ScriptReply): void {
    if (seq <= this.applied || this.closing) return;
    this.applied = seq;
    this.othersReadAt = Date.now();
    if (reply.resend) {
      this.resendViewers = true;
      this.requestSync();
    }
    this.replaceOthers(reply.others);
  }

  private forgetOthers(): void {
    this.replaceOthers(new Map());
  }

  private replaceOthers(others: Map<string, OthersInRoom>): void {
    const rooms = new Set([...this.others.keys(), ...others.keys()]);
    const before = new Map([...rooms].map((room) => [room, this.count(room)]));
    this.others = others;
    this.total = undefined;
    for (const room of rooms) {
      if (before.get(room) !== this.count(room)) this.events.emit('change', { room });
    }
  }

  /** A room's count may have changed from `before`: keep the total and say so. */
  private changed(room: string, before: number): void {
    const after = this.count(room);
    if (after === before) return;
    if (this.total !== undefined) this.total += after - before;
    this.events.emit('change', { room });
  }

  /** A viewer-set member appeared (or went): undo the opposite pending change, or record this one. */
  private viewerSetChanged(entry: string, opposite: Set<string>, pending: Set<string>): void {
    if (!opposite.delete(entry)) pending.add(entry);
  }

  private viewerMembers(): string[] {
    const members: string[] = [];
    for (const [room, viewers] of this.localViewers) for (const viewer of viewers.keys()) members.push(member(viewer, room));
    return members;
  }

  private recovered(): void {
    if (!this.unreachable) return;
    this.unreachable = false;
    this.logger.warn(`express-user-counter: Redis is reachable again; instance ${this.instanceId} rewrote its counts and re-read the totals.`);
  }

  /** One warning and one `error` event per outage, however many calls fail during it. */
  private failed(thrown: unknown): void {
    if (this.unreachable) return;
    this.unreachable = true;
    const error = toError(thrown);
    const message = `express-user-counter: RedisCountStore cannot reach Redis (${error.message}); streams show this instance's count until it is back, and the store retries every ${this.heartbeatMs} ms.`;
    this.logger.warn(message);
    this.events.emit('error', new Error(message, { cause: error }));
  }

  private async callScript(
    mode: 'sync' | 'retract',
    counts: string[],
    viewerMode: 'full' | 'delta' = 'delta',
    adds: string[] = [],
    removes: string[] = [],
  ): Promise<ScriptReply> {
    const { instances, own, ownViewers, instancePrefix, viewerPrefix, channel } = this.keys;
    const keys = [instances, own, ownViewers];
    const args = [
      this.instanceId, String(this.ttlMs), instancePrefix, channel, mode, viewerPrefix, viewerMode,
      String(counts.length), ...counts, String(adds.length), ...adds, ...removes,
    ];
    return parseReply(await this.evalScript(SYNC_SCRIPT, keys, args));
  }

  private async evalScript(script: RedisScript, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.sendCommand('EVALSHA', script.sha1, String(keys.length), ...keys, ...args);
    } catch (error) {
      // Redis forgets scripts on restart and SCRIPT FLUSH; EVAL loads it again.
      if (!/NOSCRIPT/i.test(toError(error).message)) throw error;
      return this.sendCommand('EVAL', script.source, String(keys.length), ...keys, ...args);
    }
  }

  /** A call the client keeps queued while disconnected counts as failed after one heartbeat. */
  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.heartbeatMs} ms`)), this.heartbeatMs);
      timer.unref();
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  private async stopSubscription(): Promise<void> {
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    try {
      await unsubscribe?.();
    } catch {
      // The subscription dies with its connection anyway.
    }
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    // A sync still in flight must not land after the retraction and bring this instance back.
    await this.syncing;
    const hadCounts = this.local.size > 0 || this.localViewers.size > 0;
    try {
      if (this.sent > 0 || hadCounts) await this.withTimeout(this.callScript('retract', []));
    } catch (error) {
      // Redis drops this instance after the TTL anyway.
      this.failed(error);
    }
    await this.stopSubscription();
    const rooms = this.rooms();
    this.local.clear();
    this.localViewers.clear();
    this.others = new Map();
    this.total = 0;
    for (const room of rooms) this.events.emit('change', { room });
  }
}

/** A viewer-set member: the viewer's length first, so any viewer and room can be split apart again. */
function member(viewer: string, room: string): string {
  // Lua counts bytes.
  return `${Buffer.byteLength(viewer)}:${viewer}${room}`;
}

function parseReply(reply: unknown): ScriptReply {
  const unexpected = () => new Error(`unexpected reply from the RedisCountStore script: ${JSON.stringify(reply)}`);
  if (!Array.isArray(reply) || reply.length < 2) throw unexpected();
  const others = new Map<string, OthersInRoom>();
  let i = 2;
  while (i < reply.length) {
    if (i + 4 > reply.length) throw unexpected();
    const room = String(reply[i]);
    const sharedCount = Number(reply[i + 3]);
    const shared = reply.slice(i + 4, i + 4 + sharedCount).map(String);
    if (shared.length !== sharedCount) throw unexpected();
    others.set(room, { anonymous: Number(reply[i + 1]), only: Number(reply[i + 2]), shared });
    i += 4 + sharedCount;
  }
  return { resend: Number(reply[1]) === 1, others };
}
