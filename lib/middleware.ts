import type { Application, Request, Response, Router } from 'express';
import { Router as createRouter } from 'express';
import { createIsolatedEmitter, toError } from './events.js';
import { FrameBroadcaster } from './frame-broadcaster.js';
import { createCanvasRenderer, createCustomRenderer } from './frame-renderer.js';
import { hotlinkRejection } from './hotlink-policy.js';
import { MultipartFormat } from './multipart-format.js';
import { MultipartWriter } from './multipart-writer.js';
import { resolveOptions } from './options.js';
import type { Options, UserCounter, UserCounterEvents } from './types.js';

/** The router `userCounterMiddleware` returns, with the counter's handle. */
export type UserCounterRouter = Router & { readonly counter: UserCounter };

/** Until per-page counting exists, every stream is in this room. */
const ROOM = '';
/** How long `close()` waits for a viewer to take the close-delimiter before cutting it off. */
const CLOSE_GRACE_MS = 2000;

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
  const renderer = config.render ? createCustomRenderer(config.render) : createCanvasRenderer(config.image, config.canvas);
  const broadcaster = new FrameBroadcaster({
    readCount: () => store.count(ROOM),
    renderer,
    format,
    tickMs: config.heartbeatMs || 250,
    report,
  });
  const writerSettings = {
    format,
    keepAliveMs: config.keepAliveMs,
    heartbeat: config.heartbeatMs > 0,
    stallTimeoutMs: config.stallTimeoutMs,
  };
  const streamHeaders = {
    'Content-Type': format.contentType,
    'Cache-Control': 'no-store, no-cache, must-revalidate, no-transform',
    Pragma: 'no-cache',
    Expires: '0',
    'X-Accel-Buffering': 'no',
    'X-Content-Type-Options': 'nosniff',
  };
  const writers = new Set<MultipartWriter>();
  let closing: Promise<void> | undefined;

  let lastTotal = store.count();
  const onStoreChange = (): void => {
    broadcaster.countChanged();
    const total = store.count();
    if (total !== lastTotal) {
      lastTotal = total;
      events.emit('change', { count: total });
    }
  };
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

  const openStream = (req: Request, res: Response): void => {
    const rejection = hotlinkRejection(req, config);
    if (rejection) {
      res.status(403).set('Cache-Control', 'no-store').type('text/plain').send(rejection);
      return;
    }
    if (closing) {
      res.status(503).set({ 'Retry-After': '5', 'Cache-Control': 'no-store' }).type('text/plain').send('The counter is shutting down.');
      return;
    }
    res.writeHead(200, streamHeaders);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // The viewer may have gone before we got here; then there is nothing to count.
    if (res.destroyed || req.socket.destroyed) return;

    store.increment(ROOM);
    const writer = new MultipartWriter(res, writerSettings, () => {
      writers.delete(writer);
      broadcaster.unsubscribe(writer);
      store.decrement(ROOM);
      events.emit('disconnect', { count: store.count() });
    });
    writers.add(writer);
    writer.start(broadcaster.firstFrame(store.count(ROOM)));
    broadcaster.subscribe(writer);
    events.emit('connect', { count: store.count() });
  };

  const router = createRouter() as UserCounterRouter;
  router.use((req, res, next) => {
    exposeCount(req.app);
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path === config.path) return openStream(req, res);
    if (req.path === config.jsonPath) {
      // Not res.json(): its ETag would let a client revalidate a count that is never cacheable.
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify({ count: store.count() }));
      return;
    }
    next();
  });

  const counter: UserCounter = {
    get count() {
      return store.count();
    },
    events,
    close() {
      closing ??= (async () => {
        broadcaster.close();
        await Promise.all([...writers].map((writer) => endStream(writer)));
        store.events.off('change', onStoreChange);
        await store.close?.();
        store.events.off('error', report);
      })();
      return closing;
    },
  };
  Object.defineProperty(router, 'counter', { value: counter, enumerable: true });
  return router;
}

/** End a stream with the close-delimiter; cut it off if the viewer does not take it in time. */
function endStream(writer: MultipartWriter): Promise<void> {
  const res = writer.response;
  return new Promise((resolve) => {
    if (res.closed) return resolve();
    const timer = setTimeout(() => res.destroy(), CLOSE_GRACE_MS);
    res.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    writer.end();
  });
}
