import { createIsolatedEmitter } from '../../lib/events.js';
import type { CountStore, CountStoreEvents } from '../../lib/index.js';

/** How a `MockStore` behaves; by default it counts like the memory store. */
export interface MockStoreOptions {
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
  private readonly totals = new Map<string, number>();
  private readonly fixed: boolean;
  private readonly heldBack: boolean;

  constructor({ counts, heldBack = false, countsViewers, reachable }: MockStoreOptions = {}) {
    for (const [room, count] of Object.entries(counts ?? {})) this.totals.set(room, count);
    this.fixed = counts !== undefined;
    this.heldBack = heldBack;
    this.countsViewers = countsViewers;
    this.reachable = reachable;
  }

  increment(room: string, viewer?: string): void {
    this.add(room, viewer, 1);
  }

  decrement(room: string, viewer?: string): void {
    this.add(room, viewer, -1);
  }

  count(room?: string): number {
    if (room !== undefined) return this.totals.get(room) ?? 0;
    return [...this.totals.values()].reduce((sum, count) => sum + count, 0);
  }

  /** Tell the counter that `room` changed (for a `heldBack` store). */
  announce(room = ''): void {
    this.events.emit('change', { room });
  }

  private add(room: string, viewer: string | undefined, delta: 1 | -1): void {
    this.viewers.push(viewer);
    if (this.fixed) return;
    this.totals.set(room, Math.max(0, (this.totals.get(room) ?? 0) + delta));
    if (!this.heldBack) this.announce(room);
  }
}
