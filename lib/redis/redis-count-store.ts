import { randomBytes } from 'node:crypto';
import type { Emitter } from 'mitt';
import { createStoreEvents, toError } from '../util/events.js';
import { resolveRedisStoreOptions } from './count-store-options.js';
import { LocalStreams } from './local-streams.js';
import { RemoteTotals } from './remote-totals.js';
import { RedisScriptRunner } from './script-runner.js';
import { SYNC_SCRIPT } from './scripts.js';
import { RedisSyncLoop, splitMember } from './sync-loop.js';
import { parseHint, storeKeys } from './sync-protocol.js';
import type { Hint, StoreKeys, SyncValues } from './sync-protocol.js';
import type { CountStore, CountStoreEvents, RedisCountStoreOptions, RedisSubscribe, RedisUnsubscribe } from '../types/index.js';
import type { Warnings } from '../config/warnings.js';

/**
 * Counts across processes and hosts through Redis, with the client you already use.
 *
 * Each instance writes its own absolute counts and viewers (never a shared INCR/DECR total);
 * one Lua script keeps every room's total up to date from those records, atomically, and
 * publishes the new totals of the rooms a change touched, so a change costs Redis the same
 * however many instances there are (the design: lib/redis/scripts.ts). An instance silent for
 * longer than `ttlMs` (Redis's clock) is dropped by whichever instance runs the script next,
 * which subtracts exactly what it had added. `count()` is the total as last read plus what
 * changed here since, known at once. While Redis is unreachable, streams keep working on the
 * local count; the totals read are kept for `ttlMs` after the last good call.
 */
export class RedisCountStore implements CountStore {
  readonly events: Emitter<CountStoreEvents>;
  readonly countsViewers = true;
  /** This instance's name in Redis. */
  readonly instanceId: string;
  readonly prefix: string;
  readonly heartbeatMs: number;
  readonly ttlMs: number;

  private readonly subscribeFn: RedisSubscribe | undefined;
  private readonly warnings: Warnings;
  private readonly keys: StoreKeys;
  private readonly local = new LocalStreams();
  private readonly remote = new RemoteTotals();
  private readonly loop: RedisSyncLoop;
  /** The total over rooms, or undefined when it must be summed again. */
  private total: number | undefined = 0;
  /** Hints that arrived while a call was unanswered: applied after its reply. */
  private held: Hint[] = [];
  private initializing: Promise<void> | undefined;
  private unsubscribe: RedisUnsubscribe | undefined;
  private subscribed = false;
  /** The subscription failed and has not worked since (reported once). */
  private subscriptionFailing = false;
  private closing: Promise<void> | undefined;

  constructor(options: RedisCountStoreOptions) {
    const config = resolveRedisStoreOptions(options);
    this.prefix = config.prefix;
    this.heartbeatMs = config.heartbeatMs;
    this.ttlMs = config.ttlMs;
    this.instanceId = config.instanceId;
    this.subscribeFn = config.subscribe;
    this.warnings = config.warnings;
    this.keys = storeKeys(this.prefix, this.instanceId);
    this.events = createStoreEvents<CountStoreEvents>();
    this.loop = new RedisSyncLoop({
      runner: new RedisScriptRunner(config.sendCommand, SYNC_SCRIPT),
      keys: this.keys,
      identity: { instanceId: this.instanceId, nonce: randomBytes(8).toString('hex'), ttlMs: this.ttlMs, checkMs: this.ttlMs },
      heartbeatMs: this.heartbeatMs,
      local: this.local,
      remote: this.remote,
      warnings: this.warnings,
      events: this.events,
      onBeat: () => this.subscribeToHint(),
      onForget: () => this.update([...this.local.knownRooms(), ...this.remote.rooms()], () => this.remote.forget()),
      onValues: (rooms, apply) => this.update(rooms, apply),
      onIdle: () => this.releaseHints(),
      onDuplicate: () => this.warnDuplicate(),
    });
  }

  /** Subscribe to the hint, write this instance's counts, read the totals, start the heartbeat. Never rejects for an unreachable Redis. */
  init(): Promise<void> {
    this.initializing ??= this.start();
    return this.initializing;
  }

  increment(room: string, viewer?: string): void {
    if (this.closing) return;
    this.update([room], () => this.local.increment(room, viewer));
    // Without the middleware nobody else calls init(), and the heartbeat must run.
    if (this.initializing) this.loop.request();
    else void this.init();
  }

  decrement(room: string, viewer?: string): void {
    if (this.closing) return;
    this.update([room], () => this.local.decrement(room, viewer));
    this.loop.request();
  }

  /** False from a failed call to Redis until a call succeeds again. */
  get reachable(): boolean {
    return this.loop.reachable;
  }

  count(room?: string): number {
    if (room === undefined) {
      this.total ??= this.remote.valid
        ? Math.max(0, this.remote.overall() + this.local.unsettled().reduce((sum, name) => sum + this.pending(name), 0))
        : this.local.own();
      return this.total;
    }
    if (!this.remote.valid) return this.local.own(room);
    return Math.max(0, this.remote.total(room) + this.pending(room));
  }

  rooms(): Set<string> {
    const rooms = new Set([...this.local.rooms(), ...this.remote.rooms()]);
    for (const room of rooms) if (this.count(room) === 0) rooms.delete(room);
    return rooms;
  }

  /**
   * Rewrite this instance's counts and re-read the totals now, without waiting for the
   * heartbeat: call it when the subscriber connection is ready again, since a hint sent
   * while it was away is lost. Does nothing before `init()` or after `close()`.
   */
  refresh(): void {
    if (this.initializing && !this.closing) this.loop.beat();
  }

  /** Stop the heartbeat and the subscription, and remove this instance's counts from Redis at once. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private pending(room: string): number {
    return this.local.pending(room, (name) => this.remote.holdersOf(name));
  }

  private async start(): Promise<void> {
    if (this.closing) return;
    // Not awaited: a client may hold the subscription until it connects.
    this.subscribeToHint();
    await this.loop.start();
  }

  private subscribeToHint(): void {
    if (!this.subscribeFn || this.subscribed || this.closing) return;
    this.subscribed = true;
    Promise.resolve()
      .then(() => this.subscribeFn!(this.keys.channel, (message) => this.onHint(message)))
      .then(
        async (unsubscribe) => {
          this.subscriptionFailing = false;
          if (typeof unsubscribe === 'function') this.unsubscribe = unsubscribe;
          if (this.closing) await this.stopSubscription();
        },
        (error: unknown) => {
          // Tried again at the next heartbeat.
          this.subscribed = false;
          this.subscriptionFailed(error);
        },
      );
  }

  /**
   * The subscriber connection is not Redis: the store's calls go on as before (reachable, changes
   * sent at once), and only other instances' changes wait for the heartbeat. One error until it works.
   */
  private subscriptionFailed(thrown: unknown): void {
    if (this.subscriptionFailing || this.closing) return;
    this.subscriptionFailing = true;
    const error = toError(thrown);
    const message = `RedisCountStore could not subscribe to ${this.keys.channel} (${error.message}); other instances' changes show at each heartbeat (${this.heartbeatMs} ms) until it can, and it tries again every heartbeat.`;
    this.events.emit('error', new Error(`express-user-counter: ${message}`, { cause: error }));
  }

  /** Another instance's change: apply its totals without asking Redis (after a call in flight is answered). */
  private onHint(message: unknown): void {
    const hint = parseHint(message);
    if (!hint || hint.from === this.instanceId || this.closing) return;
    if (this.loop.busy) {
      // Bounded: a hung call keeps at most this many; the heartbeat re-reads anyway.
      if (this.held.length < 10_000) this.held.push(hint);
      return;
    }
    this.applyValues(hint);
  }

  private releaseHints(): void {
    const held = this.held;
    this.held = [];
    for (const hint of held) this.applyValues(hint);
  }

  private applyValues(values: SyncValues): void {
    if (!this.remote.valid) return;
    this.update(values.rooms.map(([room]) => room), () => this.remote.apply(values, (name) => this.holdsMember(name)));
  }

  private holdsMember(name: string): boolean {
    const split = splitMember(name);
    return split !== undefined && this.local.holds(split.room, split.viewer);
  }

  /** Run a change that may change the counts of `rooms`; emit `change` for those whose count did. */
  private update(rooms: Iterable<string>, change: () => unknown): void {
    const before = new Map<string, number>();
    for (const room of rooms) before.set(room, this.count(room));
    change();
    this.total = undefined;
    for (const [room, count] of before) if (this.count(room) !== count) this.events.emit('change', { room });
  }

  private warnDuplicate(): void {
    this.warnings.warn(
      'WRN_USER_COUNTER_DUPLICATE_INSTANCE',
      `another process writes to Redis as instanceId "${this.instanceId}"; each overwrites the other's counts, so the total is too low. Give each process its own instanceId (the default is unique per process).`,
    );
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
    await this.loop.stop(this.local.own() > 0 || [...this.local.knownRooms()].length > 0);
    await this.stopSubscription();
    this.held = [];
    const rooms = new Set([...this.local.clear(), ...this.remote.forget()]);
    this.total = 0;
    for (const room of rooms) this.events.emit('change', { room });
  }
}
