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

/** What the counter's handle emits (`router.counter.events`). */
export type UserCounterEvents = {
  /** The total changed to `count`. */
  change: { count: number };
  /** A stream opened on this instance. */
  connect: { count: number };
  /** A stream on this instance ended. */
  disconnect: { count: number };
  /** A failure the counter survived: a render or store error. */
  error: Error;
};

/** A sink for the few lines the middleware writes. */
export interface Logger {
  warn(message: string): void;
  error(message: string): void;
}

/**
 * A module with node-canvas's API: `require('canvas')`. Only the parts used here.
 */
export interface NodeCanvasModule {
  createCanvas(width: number, height: number): unknown;
  registerFont(path: string, options: { family: string; weight?: string }): void;
}

/** Draws the frame for a count: a PNG, as a Buffer. */
export type RenderFunction = (count: number) => Buffer | Uint8Array | Promise<Buffer | Uint8Array>;

/** The options of `userCounterMiddleware`. Every field is optional. */
export interface Options {
  /** The path of the live image stream. The count as JSON is at the same path with `.json` for `.png`. Default `'/online.png'`. */
  path?: string;
  /** Where the count lives. Default: a new `MemoryCountStore` (this process only). */
  store?: CountStore;
  /** Re-send the latest frame after this many milliseconds without one; 0 turns it off. Default `3000`. */
  keepAliveMs?: number;
  /**
   * Between frames, send one byte of the next frame this often, so that a browser that closed
   * the page (Firefox) notices and drops the stream within about a second; 0 turns it off.
   * Default `300`.
   */
  heartbeatMs?: number;
  /** Destroy a stream whose viewer has accepted no bytes for this long while data waits. Default `30000`. */
  stallTimeoutMs?: number;
  /** Image width in CSS pixels. Default `200`. */
  width?: number;
  /** Image height in CSS pixels. Default `30`. */
  height?: number;
  /** The text drawn for a count. Default ``(count) => `Users online: ${count}` ``. */
  text?: (count: number) => string;
  /** A CSS font shorthand. The bundled family is `Anton`. Default `'20px Anton'`. */
  font?: string;
  /** The text colour, any CSS colour. Default `'rgb(0, 100, 0)'` (dark green). */
  color?: string;
  /** The background, any CSS colour. Default `'transparent'`. */
  background?: string;
  /** A custom renderer that returns a PNG for a count; replaces the built-in drawing. Default: none. */
  render?: RenderFunction;
  /** node-canvas (`require('canvas')`) to draw with instead of `@napi-rs/canvas`. Default: none. */
  canvas?: NodeCanvasModule;
  /** Serve the stream to requests that were not made by an `<img>` on a page (no Referer). Default `false`. */
  allowDirect?: boolean;
  /**
   * Origins (`'https://example.com'`) whose pages may embed the image; others get 403.
   * Default: any page.
   */
  allowedOrigins?: string[];
  /**
   * The most streams this instance holds at once; more get 503 with `Retry-After`. Default `10000`.
   * Keep it below the process's file-descriptor limit (`ulimit -n`).
   */
  maxConnections?: number;
  /**
   * The most streams one client address (`req.ip`) holds at once; more get 429 with `Retry-After`.
   * An office behind one NAT shares an address, so this is generous. Behind a reverse proxy, set
   * Express's `trust proxy` so that `req.ip` is the viewer's address, not the proxy's. Default `100`.
   */
  maxConnectionsPerIp?: number;
  /** End each stream cleanly (with the close-delimiter) after this long; 0 never. Default `0`. */
  maxStreamMs?: number;
  /** Where warnings and errors go. Default `console`. */
  logger?: Logger;
}

/** The handle on a counter, at `router.counter`. */
export interface UserCounter {
  /** The current total. */
  readonly count: number;
  /** `change`, `connect`, `disconnect` and `error` events (a mitt emitter; a throwing listener is isolated). */
  readonly events: Emitter<UserCounterEvents>;
  /**
   * End every stream with the multipart close-delimiter, stop every timer, close the
   * store; resolves when every stream has ended. Later stream requests get 503.
   */
  close(): Promise<void>;
}
