import type { Application } from 'express';
import { Router as createRouter } from 'express';
import { CountRelay } from './rooms/count-relay.js';
import { counterHandle } from './counter-handle.js';
import { StatsRecorder } from './stream/stream-stats.js';
import { createIsolatedEmitter, toError } from './util/events.js';
import { FrameBroadcaster } from './frames/frame-broadcaster.js';
import { FrameCache } from './frames/frame-cache.js';
import { BrowserTags } from './admission/browser-tags.js';
import { GuardedStore } from './counting/guarded-store.js';
import { JsonEndpoint } from './http/json-endpoint.js';
import { MultipartFormat } from './stream/multipart-format.js';
import { resolveOptions } from './options.js';
import { PageView } from './http/page-view.js';
import type { PageViewSettings } from './http/page-view.js';
import { rendererFactory } from './frames/renderer-factory.js';
import { inRoom } from './http/replies.js';
import { RequestReader } from './http/request-reader.js';
import { DEFAULT_ROOM } from './counting/room-names.js';
import { RoomRegistry } from './rooms/room-registry.js';
import { ShieldsEndpoint } from './http/shields-endpoint.js';
import { StaticImageRoute } from './http/static-route.js';
import { StreamRoute } from './http/stream-route.js';
import { StreamTicker } from './stream/stream-ticker.js';
import type { Options, UserCounterEvents, UserCounterRouter } from './types/index.js';

/** The slowest the shared tick runs. */
const MAX_TICK_MS = 1000;

/**
 * The live "users online" image: `app.use(userCounterMiddleware())` serves the
 * stream at `/online.png` and the count at `/online.json`, and keeps
 * `req.app.locals.userCount` current. Throws an `OptionsError` for bad options.
 */
export function userCounterMiddleware(options?: Options): UserCounterRouter {
  const config = resolveOptions(options);
  const { logger } = config;
  const events = createIsolatedEmitter<UserCounterEvents>((error) =>
    logger.error(`express-user-counter: an event listener threw: ${toError(error).message}`),
  );
  const report = (error: Error): void => {
    logger.error(`express-user-counter: ${error.message}`);
    events.emit('error', error);
  };
  // What a custom store throws or rejects is reported, never thrown into a request or a listener.
  const store = new GuardedStore(config.store, report);

  const format = new MultipartFormat();
  // One shared tick, as fast as the fastest periodic duty; at least once a second for stall
  // checks and maxStreamMs.
  const tickMs = Math.max(10, Math.min(MAX_TICK_MS, ...[config.heartbeatMs, config.keepAliveMs].filter((ms) => ms > 0)));
  const stats = new StatsRecorder();
  const ticker = new StreamTicker(tickMs);
  const rendererFor = rendererFactory(config, () => (stats.renders += 1));
  const frameCache = new FrameCache();
  // Rooms share their frames unless the drawing depends on the room.
  const shelfOf = (room: string, pixelRatio: number) => frameCache.shelf(config.roomInDrawing ? `${pixelRatio}\0${room}` : String(pixelRatio));

  // Each room and pixel ratio in use has its own broadcaster (a frame of another size has
  // another PNG header, which the heartbeat bytes rely on); the default room's is made now,
  // so its first frames are ready and a drawing that fails throws here.
  const registry = new RoomRegistry({
    maxRooms: config.maxRooms,
    pinnedPixelRatio: config.pixelRatio,
    readCount: (room) => store.count(room),
    createBroadcaster: (room, pixelRatio) =>
      new FrameBroadcaster({
        readCount: () => store.count(room),
        // A room-dependent drawing draws a new room's first frames off the request path.
        renderer: rendererFor(room, pixelRatio, room === DEFAULT_ROOM && pixelRatio === config.pixelRatio),
        format,
        ticker,
        report: (error) => report(inRoom(error, room)),
        frames: shelfOf(room, pixelRatio),
      }),
  });
  const relay = new CountRelay(store, registry, events, report);

  const reader = new RequestReader(config);
  const tags = new BrowserTags(config);
  const streams = new StreamRoute({ config, store, registry, reader, tags, format, ticker, stats, events, report });
  const pages: PageViewSettings = { path: config.path, width: config.image.width, height: config.image.height, tags, addressOf: (req) => reader.addressOf(req) };
  const staticRoute = new StaticImageRoute({ config, store, reader, registry, shelfOf, rendererFor, isClosing: () => streams.isClosing, report });
  const json = new JsonEndpoint(config.jsonPath, store, reader, config.room !== undefined);
  const shields = config.shields && new ShieldsEndpoint(config.shields, store, reader, config.formatCount);

  const appsWithLocals = new WeakSet<Application>();
  const router = createRouter() as UserCounterRouter;
  router.use((req, res, next) => {
    if (!appsWithLocals.has(req.app)) {
      appsWithLocals.add(req.app);
      Object.defineProperty(req.app.locals, 'userCount', { get: () => store.count(), enumerable: true, configurable: true });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path === config.path) {
      let staticImage: boolean;
      try {
        staticImage = reader.wantsStaticImage(req);
      } catch (error) {
        return next(error);
      }
      return staticImage ? staticRoute.handle(req, res, next) : streams.handle(req, res, next);
    }
    if (req.path === json.path) return json.handle(req, res, next);
    if (shields && req.path === shields.path) return shields.handle(req, res, next);
    // For the app's pages only: a stream would keep it for its whole life.
    res.locals.userCounter = new PageView(req, res, pages);
    next();
  });

  const counter = counterHandle({ store, registry, streams, staticRoute, frameCache, stats, ticker, relay, events });
  Object.defineProperty(router, 'counter', { value: counter, enumerable: true });
  return router;
}
