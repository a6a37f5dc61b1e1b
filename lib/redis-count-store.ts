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
interface ScriptReply {
  readonly others: Map<string, number>;
  readonly othersTotal: number;
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
 */
export class RedisCountStore implements CountStore {
  readonly events: Emitter<CountStoreEvents>;
  /** This instance's name in Redis. */
  readonly instanceId: string;
  readonly prefix: string;
  readonly heartbeatMs: number;
  readonly ttlMs: number;

  private readonly sendCommand: RedisSendCommand;
  private readonly subscribeFn: RedisSubscribe | undefined;
  private readonly logger: Logger;
  private readonly keys: { instances: string; own: string; instancePrefix: string; channel: string };

  private readonly local = new Map<string, number>();
  private localTotal = 0;
  private others = new Map<string, number>();
  private othersTotal = 0;
  private othersReadAt = 0;

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
    };
    this.events = createStoreEvents<CountStoreEvents>();
  }

  /** Subscribe to the hint, write this instance's counts, read the totals, start the heartbeat. Never rejects for an unreachable Redis. */
  init(): Promise<void> {
    this.initializing ??= this.start();
    return this.initializing;
  }

  increment(room: string): void {
    if (this.closing) return;
    this.local.set(room, (this.local.get(room) ?? 0) + 1);
    this.localTotal += 1;
    this.events.emit('change', { room });
    // Without the middleware nobody else calls init(), and the heartbeat must run.
    if (this.initializing) this.requestSync();
    else void this.init();
  }

  decrement(room: string): void {
    if (this.closing) return;
    const count = this.local.get(room) ?? 0;
    if (count === 0) return;
    if (count === 1) this.local.delete(room);
    else this.local.set(room, count - 1);
    this.localTotal -= 1;
    this.events.emit('change', { room });
    this.requestSync();
  }

  count(room?: string): number {
    if (room === undefined) return this.othersTotal + this.localTotal;
    return (this.others.get(room) ?? 0) + (this.local.get(room) ?? 0);
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
    const call = this.callScript('sync', counts);
    // A late answer (after the timeout) is still applied when nothing newer has been.
    call.then((reply) => this.applyReply(seq, reply), () => undefined);
    this.syncing = this.withTimeout(call).then(
      () => this.recovered(),
      (error) => this.failed(error),
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
    this.replaceOthers(reply.others, reply.othersTotal);
  }

  private forgetOthers(): void {
    this.replaceOthers(new Map(), 0);
  }

  private replaceOthers(others: Map<string, number>, othersTotal: number): void {
    const previous = this.others;
    this.others = others;
    this.othersTotal = othersTotal;
    for (const room of new Set([...previous.keys(), ...others.keys()])) {
      if ((previous.get(room) ?? 0) !== (others.get(room) ?? 0)) this.events.emit('change', { room });
    }
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

  private async callScript(mode: 'sync' | 'retract', counts: string[]): Promise<ScriptReply> {
    const { instances, own, instancePrefix, channel } = this.keys;
    const args = [instances, own, this.instanceId, String(this.ttlMs), instancePrefix, channel, mode, ...counts];
    return parseReply(await this.evalScript(SYNC_SCRIPT, args));
  }

  private async evalScript(script: RedisScript, keysAndArgs: string[]): Promise<unknown> {
    try {
      return await this.sendCommand('EVALSHA', script.sha1, '2', ...keysAndArgs);
    } catch (error) {
      // Redis forgets scripts on restart and SCRIPT FLUSH; EVAL loads it again.
      if (!/NOSCRIPT/i.test(toError(error).message)) throw error;
      return this.sendCommand('EVAL', script.source, '2', ...keysAndArgs);
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
    const hadCounts = this.local.size > 0;
    try {
      if (this.sent > 0 || hadCounts) await this.withTimeout(this.callScript('retract', []));
    } catch (error) {
      // Redis drops this instance after the TTL anyway.
      this.failed(error);
    }
    await this.stopSubscription();
    const rooms = new Set([...this.local.keys(), ...this.others.keys()]);
    this.local.clear();
    this.localTotal = 0;
    this.others = new Map();
    this.othersTotal = 0;
    for (const room of rooms) this.events.emit('change', { room });
  }
}

function parseReply(reply: unknown): ScriptReply {
  if (!Array.isArray(reply) || reply.length < 2 || reply.length % 2 !== 0) {
    throw new Error(`unexpected reply from the RedisCountStore script: ${JSON.stringify(reply)}`);
  }
  const others = new Map<string, number>();
  for (let i = 2; i < reply.length; i += 2) others.set(String(reply[i]), Number(reply[i + 1]));
  return { others, othersTotal: Number(reply[1]) };
}
