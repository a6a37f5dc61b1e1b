import { createIsolatedEmitter } from '../../lib/util/events.js';
import type { CountStore, CountStoreEvents } from '../../lib/index.js';

/** The calls of the CountStore contract, each of which a `MockStore` can be told to fail. */
export type StoreCall = 'init' | 'increment' | 'decrement' | 'count' | 'rooms' | 'close';

/** How a `MockStore` behaves; by default it counts like the memory store. */
export interface MockStoreOptions {
  /**
   * Calls that fail, before doing anything: `throws` an Error, or `rejects` (returns a promise
   * that rejects, as an `async` method of a custom store would).
   */
  fails?: Partial<Record<StoreCall, 'throws' | 'rejects'>>;
  /** Fixed totals per room: what `count()` answers whatever is incremented. */
  counts?: Record<string, number>;
  /** Emit `change` only when `announce()` is called: a store whose news reach the counter late. */
  heldBack?: boolean;
  /** Declare `countsViewers` (the calls are still counted one each: tests use one viewer). */
  countsViewers?: boolean;
  /** Declare a server to reach (`reachable`), which the test then sets. */
  reachable?: boolean;
}

/**
 * A CountStore written for the tests (as express-rate-limit's MockStore): counts in memory per
 * room, records the `viewer` of every call, and can hold back its `change` events or answer
 * fixed counts, so a test sees exactly what the counter asks of a store and when.
 */
export class MockStore implements CountStore {
  readonly events = createIsolatedEmitter<CountStoreEvents>(() => undefined);
  readonly countsViewers: boolean | undefined;
  reachable: boolean | undefined;
  /** The `viewer` argument of every increment and decrement, in order. */
  readonly viewers: (string | undefined)[] = [];
  /** Every call, by name, failed or not. */
  readonly calls: StoreCall[] = [];
  /** Decrements with no increment returned before them (for that room and viewer): the contract broken. */
  readonly unmatchedDecrements: string[] = [];
  /** Increments that returned (did not throw) and were not decremented yet, per room and viewer. */
  private readonly taken = new Map<string, number>();
  private readonly totals = new Map<string, number>();
  private readonly fixed: boolean;
  private readonly heldBack: boolean;
  private readonly fails: Partial<Record<StoreCall, 'throws' | 'rejects'>>;

  constructor({ counts, heldBack = false, countsViewers, reachable, fails = {} }: MockStoreOptions = {}) {
    for (const [room, count] of Object.entries(counts ?? {})) this.totals.set(room, count);
    this.fixed = counts !== undefined;
    this.heldBack = heldBack;
    this.countsViewers = countsViewers;
    this.reachable = reachable;
    this.fails = fails;
  }

  /** Increments returned and never decremented, over every room and viewer. */
  get unmatchedIncrements(): number {
    return [...this.taken.values()].reduce((sum, n) => sum + n, 0);
  }

  init(): Promise<void> | void {
    return this.call('init', () => undefined);
  }

  increment(room: string, viewer?: string): void {
    const result = this.call('increment', () => this.add(room, viewer, 1));
    // It returned (a promise that rejects, too): the counter owes it a decrement.
    const key = JSON.stringify([room, viewer ?? null]);
    this.taken.set(key, (this.taken.get(key) ?? 0) + 1);
    return result;
  }

  decrement(room: string, viewer?: string): void {
    const key = JSON.stringify([room, viewer ?? null]);
    const open = this.taken.get(key) ?? 0;
    if (open === 0) this.unmatchedDecrements.push(key);
    else if (open === 1) this.taken.delete(key);
    else this.taken.set(key, open - 1);
    return this.call('decrement', () => this.add(room, viewer, -1));
  }

  count(room?: string): number {
    return this.call('count', () => {
      if (room !== undefined) return this.totals.get(room) ?? 0;
      return [...this.totals.values()].reduce((sum, count) => sum + count, 0);
    });
  }

  rooms(): string[] {
    return this.call('rooms', () => [...this.totals].filter(([, count]) => count > 0).map(([room]) => room));
  }

  close(): Promise<void> {
    return this.call('close', () => Promise.resolve());
  }

  /** Tell the counter that `room` changed (for a `heldBack` store). */
  announce(room = ''): void {
    this.events.emit('change', { room });
  }

  /** Run `work` as the call `name`, unless that call is told to fail. */
  private call<T>(name: StoreCall, work: () => T): T {
    this.calls.push(name);
    const failure = this.fails[name];
    if (failure === 'throws') throw new Error(`MockStore: ${name} failed`);
    // What an async method of a store returns; typed as its result, which a store may not do.
    if (failure === 'rejects') return Promise.reject(new Error(`MockStore: ${name} rejected`)) as T;
    return work();
  }

  private add(room: string, viewer: string | undefined, delta: 1 | -1): void {
    this.viewers.push(viewer);
    if (this.fixed) return;
    this.totals.set(room, Math.max(0, (this.totals.get(room) ?? 0) + delta));
    if (!this.heldBack) this.announce(room);
  }
}
