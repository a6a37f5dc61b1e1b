import type { Router } from 'express';
import type { Emitter } from 'mitt';

/**
 * The counts an event carries: the total, and the room concerned. The counter always sets
 * `room` and `roomCount`; they are optional so that code emitting `{ count }` itself still compiles.
 */
export interface RoomCounts {
  /** The total over every room. */
  readonly count: number;
  /** The room (page) concerned; `''` is the default room. */
  readonly room?: string;
  /** That room's count. */
  readonly roomCount?: number;
}

/** What the counter's handle emits (`router.counter.events`). */
export type UserCounterEvents = {
  /** The total, or the count of `room`, changed. */
  change: RoomCounts;
  /** A stream opened on this instance, in `room`. */
  connect: RoomCounts;
  /** A stream on this instance, in `room`, ended. */
  disconnect: RoomCounts;
  /** A failure the counter survived: a render or store error. A render error has the `room` it was drawing for. */
  error: Error & { readonly room?: string };
};

/** The handle on a counter, at `router.counter`. */
export interface UserCounter {
  /** The current total over every room. */
  readonly count: number;
  /** The current count of one room (`''`: the default room). */
  countIn(room: string): number;
  /** Every room with a count above 0 as the store knows it (all instances' with a shared store), with its count. */
  rooms(): Map<string, number>;
  /** This instance's streams, viewers, rooms and the frames, bytes and renders they cost. */
  stats(): CounterStats;
  /** `change`, `connect`, `disconnect` and `error` events (a mitt emitter; a throwing listener is isolated). */
  readonly events: Emitter<UserCounterEvents>;
  /**
   * End every stream with its count drawn as ended (see `endedFrame`) and the multipart
   * close-delimiter, stop every timer, close the store; resolves when every stream has ended.
   * Later stream requests get 503.
   */
  close(): Promise<void>;
}

/**
 * The counter's image for one page view, at `res.locals.userCounter` in every GET the counter's
 * router sees (mount it with `app.use(counter)` ahead of your pages). Its URL is the page
 * view's own, so that every tab has a stream of its own in every browser (Firefox would share
 * one tab's image with another for the same URL), and its first use sets the per-browser
 * cookie on the page's response (so that tabs loading together are known as one browser) and,
 * when the page has set no `Cache-Control`, `no-store` (a copy of the page would reuse its view).
 */
export interface PageCounter {
  /** This page view's stream URL: the counter's path with `?view=<id>` (`/online.png?view=3kq...`). */
  readonly src: string;
  /** The same URL with `query` added, for a room named by the query (`url({ page: 'pricing' })`). */
  url(query?: Readonly<Record<string, string | number>>): string;
  /**
   * An `<img>` element for this page view: `src`, the image's `width` and `height`, `alt="Users
   * online"`, and `attributes` (escaped; `true` writes the bare name, `false` leaves it out).
   * `query` as for `url`.
   */
  img(attributes?: Readonly<Record<string, string | number | boolean>>, query?: Readonly<Record<string, string | number>>): string;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      /** The live counter's image for this page view (express-user-counter); see `PageCounter`. */
      userCounter: PageCounter;
    }
  }
}

/** The router `userCounterMiddleware` returns, with the counter's handle. */
export type UserCounterRouter = Router & { readonly counter: UserCounter };

/** What `counter.stats()` reports: this instance's streams and the work they cost, since start. */
export interface CounterStats {
  /** The total count, as the store knows it (every instance's, with a shared store). */
  readonly count: number;
  /** Open streams on this instance. */
  readonly connections: number;
  /** Distinct viewers on this instance, summed over rooms: each stream without a viewer, and each viewer (`identify`) once per room. */
  readonly viewers: number;
  /** Rooms with at least one open stream on this instance. */
  readonly rooms: number;
  /** Frame broadcasters alive (one per room and pixel ratio in use, plus the default room's). */
  readonly broadcasters: number;
  /** Static images served (the fallback for clients that cannot stream). */
  readonly staticImages: number;
  /** Bytes of the frames the counter keeps ready, over every room and pixel ratio (bounded). */
  readonly frameBytes: number;
  /**
   * Frames handed to sockets: each stream's first frame and every broadcast frame it was
   * written (at once, or on `drain` as the newest). Keep-alive re-sends are not included.
   */
  readonly framesSent: number;
  /** Broadcast frames a slow viewer never got: replaced by a newer one while its socket was full. */
  readonly framesDropped: number;
  /** Bytes handed to the kernel on stream sockets (headers, frames, heartbeats), not counting what waits in Node's buffers. */
  readonly bytesSent: number;
  /** Frames drawn (each count once per room and pixel ratio while cached). */
  readonly renders: number;
  /**
   * Whether the store reaches its server (`CountStore.reachable`): false during a Redis outage,
   * while the counts are this instance's own. Always true for a store without a server.
   */
  readonly storeReachable: boolean;
}
