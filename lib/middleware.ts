import type { Application, NextFunction, Request, Response, Router } from 'express';
import { Router as createRouter } from 'express';
import { createIsolatedEmitter, toError } from './events.js';
import { FrameBroadcaster } from './frame-broadcaster.js';
import { FrameCache } from './frame-cache.js';
import { rendererFactory } from './renderer-factory.js';
import { ConnectionLimits } from './connection-limits.js';
import { StatsRecorder } from './counter-stats.js';
import { StreamTicker } from './stream-ticker.js';
import type { CounterStats } from './counter-stats.js';
import { hotlinkRejection } from './hotlink-policy.js';
import { MultipartFormat } from './multipart-format.js';
import { MultipartWriter } from './multipart-writer.js';
import { resolveOptions } from './options.js';
import { DEFAULT_ROOM, RoomRegistry } from './room-registry.js';
import type { Channel, Room } from './room-registry.js';
import { wantsStaticImage } from './static-fallback.js';
import { StaticImageRoute } from './static-route.js';
import { ShieldsEndpoint } from './shields-endpoint.js';
import { CANNOT_DRAW, RETRY_AFTER_SECONDS, SHUTTING_DOWN, inRoom, refuse, roomOrReply } from './replies.js';
import type { CountStore, Options, UserCounter, UserCounterEvents } from './types.js';
import { StreamTargets } from './stream-target.js';
import { shedRequestState } from './request-footprint.js';
import { framingFor } from './stream-framing.js';
import { BrowserStreams } from './browser-streams.js';
import { ProxyWarning, clientAddress } from './client-address.js';
import { hasRequestQueuedBehind, markStreaming, watchPipelining } from './pipelined-requests.js';

/** The router `userCounterMiddleware` returns, with the counter's handle. */
export type UserCounterRouter = Router & { readonly counter: UserCounter };

/** How many open counters use each store. */
const storeUsers = new WeakMap<CountStore, number>();
/** The slowest the shared tick runs. */
const MAX_TICK_MS = 1000;
/** How long `close()` waits for a viewer to take the close-delimiter before cutting it off. */
const CLOSE_GRACE_MS = 2000;

/** Where a stream request goes: its room, its pixel ratio and its viewer's digest (none: counted on its own). */
interface StreamTarget {
  readonly room: string;
  readonly pixelRatio: number;
  readonly viewer: string | undefined;
}

/**
 * The live "users online" image: `app.use(userCounterMiddleware())` serves the
 * stream at `/online.png` and the count at `/online.json`, and keeps
 * `req.app.locals.userCount` current. Throws an `OptionsError` for bad options.
 */
export function userCounterMiddleware(options?: Options): UserCounterRouter {
  const config = resolveOptions(options);
  const { store, logger } = config;
  const events = createIsolatedEmitter<UserCounterEvents>((error) =>
    logger.error(`express-user-counter: an event listener threw: ${toError(error).message}`),
  );
  const report = (error: Error): void => {
    logger.error(`express-user-counter: ${error.message}`);
    events.emit('error', error);
  };

  const format = new MultipartFormat();
  // One shared tick, as fast as the fastest periodic duty; at least once a second for stall
  // checks and maxStreamMs.
  const tickMs = Math.max(10, Math.min(MAX_TICK_MS, ...[config.heartbeatMs, config.keepAliveMs].filter((ms) => ms > 0)));
  const stats = new StatsRecorder();
  const ticker = new StreamTicker(tickMs);
  const rendererFor = rendererFactory(config, () => (stats.renders += 1));
  const writers = new Set<MultipartWriter>();
  const frameCache = new FrameCache();
  let closing: Promise<void> | undefined;

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
        // Rooms share their frames unless the drawing depends on the room.
        frames: frameCache.shelf(config.roomInDrawing ? `${pixelRatio}\0${room}` : String(pixelRatio)),
      }),
  });

  const writerSettings = {
    format,
    keepAliveMs: config.keepAliveMs,
    heartbeatMs: config.heartbeatMs,
    tickMs,
    stallTimeoutMs: config.stallTimeoutMs,
    maxStreamMs: config.maxStreamMs,
    stats: stats.frames,
  };
  const streamHeaders = {
    'Content-Type': format.contentType,
    'Cache-Control': 'no-store, no-cache, must-revalidate, no-transform',
    Pragma: 'no-cache',
    Expires: '0',
    'X-Accel-Buffering': 'no',
    'X-Content-Type-Options': 'nosniff',
    // The framing depends on the browser (lib/stream-framing.ts): no cache may serve one browser's to another.
    Vary: 'User-Agent',
  };

  const countsIn = (room: string) => ({ count: store.count(), room, roomCount: store.count(room) });
  let lastTotal = store.count();
  const onStoreChange = ({ room: name }: { room: string }): void => {
    const room = registry.get(name);
    if (room) for (const channel of room.channels.values()) channel.broadcaster.countChanged();
    const counts = countsIn(name);
    // A room without streams here is not remembered: its changes show through the total.
    const roomChanged = room !== undefined && room.lastCount !== counts.roomCount;
    if (room) room.lastCount = counts.roomCount;
    if (counts.count !== lastTotal || roomChanged) {
      lastTotal = counts.count;
      events.emit('change', counts);
    }
  };
  storeUsers.set(store, (storeUsers.get(store) ?? 0) + 1);
  store.events.on('change', onStoreChange);
  store.events.on('error', report);
  Promise.resolve()
    .then(() => store.init?.())
    .catch((error: unknown) => report(toError(error)));

  const appsWithLocals = new WeakSet<Application>();
  const exposeCount = (app: Application): void => {
    if (appsWithLocals.has(app)) return;
    appsWithLocals.add(app);
    Object.defineProperty(app.locals, 'userCount', { get: () => store.count(), enumerable: true, configurable: true });
  };

  const targets = new StreamTargets(config, logger);
  const shields = config.shields && new ShieldsEndpoint(config.shields, store, targets, config.formatCount);
  const staticRoute = new StaticImageRoute({ config, store, targets, registry, rendererFor, isClosing: () => closing !== undefined, report });

  const limits = new ConnectionLimits({ ...config, defaultRoom: DEFAULT_ROOM });
  const browsers = new BrowserStreams(config.maxStreamsPerBrowser, config.path);
  const proxyWarning = new ProxyWarning(logger);

  const openStream = (req: Request, res: Response, next: NextFunction): void => {
    const rejection = hotlinkRejection(req, config);
    if (rejection) return refuse(res, 403, rejection);
    if (closing) return refuse(res, 503, SHUTTING_DOWN, RETRY_AFTER_SECONDS);
    let target: StreamTarget;
    try {
      const named = targets.roomOf(req);
      if ('problem' in named) return refuse(res, 400, named.problem);
      if (req.method === 'HEAD') {
        res.writeHead(200, streamHeaders);
        res.end();
        return;
      }
      target = { room: named.room, pixelRatio: targets.pixelRatioOf(req), viewer: targets.viewerOf(req) };
    } catch (error) {
      return next(error);
    }
    beginStream(req, res, target);
  };

  const beginStream = (req: Request, res: Response, target: StreamTarget): void => {
    // A request pipelined behind another on one connection has no socket until the
    // responses before it are done: it streams, and counts, only from then.
    if (!res.socket) {
      if (!req.socket.destroyed) res.once('socket', () => beginStream(req, res, target));
      return;
    }
    // The viewer may have gone before we got here; then there is nothing to count. A request
    // queued behind this one would wait for ever (lib/pipelined-requests.ts): close the connection.
    if (res.destroyed || req.socket.destroyed) return;
    if (hasRequestQueuedBehind(req)) return void req.socket.destroy();
    if (closing) return refuse(res, 503, SHUTTING_DOWN, RETRY_AFTER_SECONDS);
    const { room: name, pixelRatio, viewer } = target;
    if (!registry.admits(name)) {
      return refuse(res, 429, 'Too many pages are being counted right now. Try again shortly.', RETRY_AFTER_SECONDS);
    }

    const address = clientAddress(req);
    const refusal = limits.admitConnection(address, req.socket, name);
    if (refusal) {
      proxyWarning.refused(req, address, refusal);
      return refuse(res, refusal.status, refusal.reason, RETRY_AFTER_SECONDS);
    }

    let joined: { room: Room; channel: Channel } | undefined;
    const browser = browsers.tag(req);
    const writer = new MultipartWriter(res, writerSettings, () => {
      if (browser) browsers.remove(browser.id, writer);
      if (!joined) return;
      stats.closed(writer);
      writers.delete(writer);
      joined.channel.broadcaster.unsubscribe(writer);
      registry.leave(joined.room, joined.channel, writer, viewer);
      store.decrement(name, viewer);
      events.emit('disconnect', countsIn(name));
    }, framingFor(req.headers['user-agent']));
    try {
      joined = registry.join(name, pixelRatio, writer, viewer);
    } catch (error) {
      // A new room whose first frames cannot be drawn (a `text` that throws).
      report(inRoom(toError(error), name));
      limits.releaseConnection(req.socket);
      return refuse(res, 500, CANNOT_DRAW);
    }
    res.writeHead(200, browser?.setCookie ? { ...streamHeaders, 'Set-Cookie': browser.setCookie } : streamHeaders);
    markStreaming(req);
    store.increment(name, viewer);
    writers.add(writer);
    const { broadcaster } = joined.channel;
    // When the server ends the stream (close(), maxStreamMs, a newer tab), the image keeps its last frame: make it say so.
    const lastFrame = config.endedFrame
      ? (shown: number | undefined) => broadcaster.endedFrame(shown ?? store.count(name))
      : undefined;
    writer.start(broadcaster.firstFrame(store.count(name)), lastFrame);
    broadcaster.subscribe(writer);
    if (browser) browsers.add(browser.id, writer);
    shedRequestState(req, res);
    events.emit('connect', countsIn(name));
  };

  const router = createRouter() as UserCounterRouter;
  router.use((req, res, next) => {
    exposeCount(req.app);
    watchPipelining(req);
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path === config.path) {
      let staticImage: boolean;
      try {
        staticImage = wantsStaticImage(req, config.staticFallback);
      } catch (error) {
        return next(error);
      }
      return staticImage ? staticRoute.handle(req, res, next) : openStream(req, res, next);
    }
    if (req.path === config.jsonPath) {
      let body: object;
      if (config.room) {
        const room = roomOrReply(targets, req, res, next);
        if (room === undefined) return;
        body = { count: store.count(room), total: store.count(), room };
      } else {
        body = { count: store.count() };
      }
      // Not res.json(): its ETag would let a client revalidate a count that is never cacheable.
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(body));
      return;
    }
    if (shields && req.path === shields.path) return shields.handle(req, res, next);
    next();
  });

  const counter: UserCounter = {
    get count() {
      return store.count();
    },
    countIn(room) {
      return store.count(room);
    },
    rooms() {
      const names = store.rooms ? store.rooms() : [...registry.active()].map((room) => room.name);
      const counts = new Map<string, number>();
      for (const name of names) {
        const count = store.count(name);
        if (count > 0) counts.set(name, count);
      }
      return counts;
    },
    stats(): CounterStats {
      let viewers = 0;
      for (const room of registry.active()) viewers += room.anonymous + room.viewers.size;
      return {
        count: store.count(),
        connections: writers.size,
        viewers,
        rooms: registry.activeCount,
        broadcasters: registry.broadcasterCount,
        staticImages: staticRoute.served,
        frameBytes: frameCache.bytes,
        ...stats.snapshot(writers),
      };
    },
    events,
    close() {
      closing ??= (async () => {
        registry.close();
        ticker.stop();
        await Promise.all([...writers].map((writer) => endStream(writer)));
        store.events.off('change', onStoreChange);
        // A store shared by several counters is closed by the last of them.
        const users = (storeUsers.get(store) ?? 1) - 1;
        storeUsers.set(store, users);
        if (users === 0) await store.close?.();
        store.events.off('error', report);
      })();
      return closing;
    },
  };
  Object.defineProperty(router, 'counter', { value: counter, enumerable: true });
  return router;
}

/** End a stream with its last frame and the close-delimiter; cut it off if the viewer does not take it in time. */
function endStream(writer: MultipartWriter): Promise<void> {
  const res = writer.response;
  return new Promise((resolve) => {
    if (res.closed) return resolve();
    const timer = setTimeout(() => res.destroy(), CLOSE_GRACE_MS);
    res.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    void writer.endFromServer();
  });
}
