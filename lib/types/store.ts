import type { Emitter } from 'mitt';

/**
 * Where the count lives. The middleware tells the store when a stream opens or
 * closes on this instance; the store knows the total (for one process, or summed
 * over every instance sharing it) and says when it changes.
 *
 * Timing rules:
 * - `increment` and `decrement` are synchronous and never throw: they are called on
 *   the request path. A store that persists elsewhere (Redis) records the change
 *   locally at once and writes it out later, coalesced.
 * - `count()` is synchronous: the total as the store knows it now. Right after
 *   `increment`, it already includes that viewer.
 * - `events` emits `change` whenever a total may have changed (a hint: the
 *   middleware re-reads `count()`), and `error` for a failure the store survived.
 * - A store that breaks these rules (throws, returns a promise that rejects) is reported
 *   by the counter, never crashes it: a stream whose `increment` throws is refused with
 *   503 and never decremented; a `count()` that fails reads as 0.
 *
 * Rooms: every count belongs to a room (a page). The middleware uses the room `''`
 * unless the `room` option names another; a store must keep rooms apart.
 *
 * Viewers: `increment` and `decrement` may name the viewer a stream belongs to (the
 * `identify` option; the middleware passes a SHA-256 digest, never the raw identity).
 * Streams of one viewer in one room count once while at least one is open, on every
 * instance sharing the store: `count(room)` is the number of streams without a viewer
 * plus the number of distinct viewers. A store that ignores the argument counts every
 * stream (the contract before viewers existed); it says it dedupes with `countsViewers`.
 */
export interface CountStore {
  /** Called once by each middleware that uses the store, before the first stream. */
  init?(): void | Promise<void>;
  /** A stream opened on this instance in `room`, of `viewer` when given. */
  increment(room: string, viewer?: string): void;
  /**
   * A stream in `room` on this instance ended; `viewer` is the one given to its `increment`.
   * Never called more often than `increment` (for that room and viewer); an extra call changes nothing.
   */
  decrement(room: string, viewer?: string): void;
  /** The current total in `room`; with no room, the total over all rooms. */
  count(room?: string): number;
  /** The rooms whose count is above 0, as far as the store knows now (every instance's, for a shared store). */
  rooms?(): Iterable<string>;
  /** True when streams of one `viewer` count once (see Viewers above). */
  readonly countsViewers?: boolean;
  /**
   * False while the store cannot reach its server (its counts are then this instance's own);
   * true again once it can. Absent (undefined) for a store that has no server to reach.
   */
  readonly reachable?: boolean;
  /** `change` when a total may have changed; `error` for a failure the store survived. */
  readonly events: Emitter<CountStoreEvents>;
  /** Retract this instance's counts and release timers. Resolves when done. */
  close?(): Promise<void>;
}

/** What a count store emits. */
export type CountStoreEvents = {
  /** A total may have changed: read `count()` again. */
  change: { room: string };
  /** A failure the store survived (for example its server went away). */
  error: Error;
};
