import type { NextFunction, Request, Response } from 'express';
import { toError } from '../util/events.js';
import type { FrameShelf } from '../frames/frame-cache.js';
import type { FrameRenderer } from '../frames/frame-renderer.js';
import { staticImageRejection } from '../admission/hotlink-policy.js';
import type { HotlinkPolicy } from '../admission/hotlink-policy.js';
import { CANNOT_DRAW, RETRY_AFTER_SECONDS, SHUTTING_DOWN, inRoom, refuse, roomOrReply } from './replies.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { RequestReader } from './request-reader.js';
import { Lru } from '../util/lru.js';
import type { CountStore } from '../types/index.js';

/**
 * `?static=1` is a URL of its own: a shared cache may keep it briefly (GitHub's camo shows a count
 * at most this old).
 */
const OWN_URL_CACHING = 'public, max-age=10';
/**
 * The stream's URL, answered with a still image for this client (a crawler): many shared caches
 * ignore `Vary: User-Agent` and would give the still image to browsers, which then never stream.
 */
const STREAM_URL_CACHING = 'no-store';

interface StaticRouteSettings {
  /** Who may embed the image (`allowedOrigins`). */
  readonly config: HotlinkPolicy;
  readonly store: Pick<CountStore, 'count'>;
  readonly reader: RequestReader;
  readonly registry: RoomRegistry;
  /** The frames of a room at a pixel ratio: every room's when the drawing does not depend on the room. */
  readonly shelfOf: (room: string, pixelRatio: number) => FrameShelf;
  readonly rendererFor: (room: string, pixelRatio: number) => FrameRenderer;
  readonly isClosing: () => boolean;
  readonly report: (error: Error) => void;
}

/**
 * One PNG of the room's count, for a client that cannot stream (see request-reader.ts):
 * a frame of this count when one is ready (the room's streams', or any room's when the drawing
 * does not depend on the room), else a render, cached by what the drawing depends on: a new room
 * name costs no render unless the drawing depends on the room. Not counted.
 */
export class StaticImageRoute {
  /** Images served so far. */
  served = 0;
  private readonly images: StaticImages;

  constructor(private readonly settings: StaticRouteSettings) {
    this.images = new StaticImages(settings.rendererFor);
  }

  handle(req: Request, res: Response, next: NextFunction): void {
    const { config, store, reader, registry, shelfOf, report } = this.settings;
    const rejection = staticImageRejection(req, config);
    if (rejection) return refuse(res, 403, rejection);
    if (this.settings.isClosing()) return refuse(res, 503, SHUTTING_DOWN, RETRY_AFTER_SECONDS);
    const room = roomOrReply(reader, req, res, next);
    if (room === undefined) return;
    const pixelRatio = reader.pixelRatioOf(req);
    const count = store.count(room);
    const shelf = shelfOf(room, pixelRatio);
    const ready = registry.get(room)?.channels.get(pixelRatio)?.broadcaster.readyFrame(count) ?? shelf.get(count);
    const png = ready ? Promise.resolve(ready.png) : this.images.png(shelf.scope, room, pixelRatio, count);
    const cacheControl = reader.asksForStaticImage(req) ? OWN_URL_CACHING : STREAM_URL_CACHING;
    png
      .then(
        (buffer) => {
          // Something else may have answered while it rendered (a timeout middleware).
          if (res.destroyed || res.headersSent) return;
          this.served += 1;
          res.writeHead(200, {
            'Content-Type': 'image/png',
            'Content-Length': String(buffer.length),
            'Cache-Control': cacheControl,
            Vary: 'User-Agent',
            'X-Content-Type-Options': 'nosniff',
          });
          res.end(buffer);
        },
        (error: unknown) => {
          report(inRoom(toError(error), room));
          if (!res.headersSent && !res.destroyed) refuse(res, 500, CANNOT_DRAW);
        },
      )
      // Whatever the app's middleware did to the response, never an unhandled rejection (it ends the process).
      .catch((error: unknown) => report(toError(error)));
  }
}

/** How many static PNGs are kept, by what the drawing depends on (a frame shelf's scope) and count. */
const CACHED_IMAGES = 128;

/**
 * The PNGs of the static fallback: the frame a stream of that room and ratio would show
 * now. Kept in a small cache by the shelf's scope (the room only when the drawing depends on
 * it), so a crawler asking again, or for another room, costs no render.
 */
class StaticImages {
  private readonly cache = new Lru<string, Promise<Buffer>>(CACHED_IMAGES);

  constructor(private readonly rendererFor: (room: string, pixelRatio: number) => FrameRenderer) {}

  png(scope: string, room: string, pixelRatio: number, count: number): Promise<Buffer> {
    const key = `${count}\0${scope}`;
    let png = this.cache.get(key);
    if (!png) {
      // A drawing that throws at once becomes a rejection like any other.
      png = Promise.resolve().then(() => this.rendererFor(room, pixelRatio).render(count));
      png.catch(() => this.cache.delete(key));
      this.cache.set(key, png);
    }
    return png;
  }
}
