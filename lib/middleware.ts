import type { Application, Request, Response, Router } from 'express';
import { Router as createRouter } from 'express';
import { createIsolatedEmitter, toError } from './events.js';
import { FrameBroadcaster } from './frame-broadcaster.js';
import { createCanvasRenderer, createCustomRenderer } from './frame-renderer.js';
import { ConnectionLimits } from './connection-limits.js';
import { hotlinkRejection } from './hotlink-policy.js';
import { MultipartFormat } from './multipart-format.js';
import { MultipartWriter } from './multipart-writer.js';
import { resolveOptions } from './options.js';
import type { CountStore, Options, UserCounter, UserCounterEvents } from './types.js';

/** The router `userCounterMiddleware` returns, with the counter's handle. */
export type UserCounterRouter = Router & { readonly counter: UserCounter };

/** Until per-page counting exists, every stream is in this room. */
const ROOM = '';
/** How many open counters use each store. */
const storeUsers = new WeakMap<CountStore, number>();
/** The slowest the shared tick runs. */
const MAX_TICK_MS = 1000;
/** What a refused viewer is told to wait before trying again. */
const RETRY_AFTER_SECONDS = 10;
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
  // One shared tick, as fast as the fastest periodic duty; at least once a second for stall
  // checks and maxStreamMs.
  const tickMs = Math.max(10, Math.min(MAX_TICK_MS, ...[config.heartbeatMs, config.keepAliveMs].filter((ms) => ms > 0)));
  const renderer = config.render ? createCustomRenderer(config.render) : createCanvasRenderer(config.image, config.canvas);
  const broadcaster = new FrameBroadcaster({
    readCount: () => store.count(ROOM),
    renderer,
    format,
    tickMs,
    report,
  });
  const writerSettings = {
    format,
    keepAliveMs: config.keepAliveMs,
    heartbeatMs: config.heartbeatMs,
    tickMs,
    stallTimeoutMs: config.stallTimeoutMs,
    maxStreamMs: config.maxStreamMs,
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

  const limits = new ConnectionLimits(config.maxConnections, config.maxConnectionsPerIp);
  let warnedAboutProxy = false;

  const openStream = (req: Request, res: Response): void => {
    const rejection = hotlinkRejection(req, config);
    if (rejection) return refuse(res, 403, rejection);
    if (closing) return refuse(res, 503, 'The counter is shutting down.', RETRY_AFTER_SECONDS);
    if (req.method === 'HEAD') {
      res.writeHead(200, streamHeaders);
      res.end();
      return;
    }
    // A request pipelined behind another on one connection has no socket until the
    // responses before it are done: it streams, and counts, only from then.
    if (!res.socket) {
      res.once('socket', () => openStream(req, res));
      return;
    }
    // The viewer may have gone before we got here; then there is nothing to count.
    if (res.destroyed || req.socket.destroyed) return;

    const address = req.ip ?? req.socket.remoteAddress ?? '';
    const refusal = limits.admit(address);
    if (refusal) {
      if (refusal.status === 429 && !warnedAboutProxy && req.headers['x-forwarded-for'] !== undefined && !req.app.get('trust proxy')) {
        warnedAboutProxy = true;
        logger.warn(
          `express-user-counter: ${JSON.stringify(address)} reached maxConnectionsPerIp while requests carry X-Forwarded-For. ` +
            "Behind a proxy every viewer has the proxy's address: set app.set('trust proxy', ...) so req.ip is the viewer's.",
        );
      }
      return refuse(res, refusal.status, refusal.reason, RETRY_AFTER_SECONDS);
    }

    res.writeHead(200, streamHeaders);
    store.increment(ROOM);
    const writer = new MultipartWriter(res, writerSettings, () => {
      writers.delete(writer);
      broadcaster.unsubscribe(writer);
      limits.release(address);
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

/** A short plain-text refusal, never cached and never counted. */
function refuse(res: Response, status: number, reason: string, retryAfterSeconds?: number): void {
  const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };
  if (retryAfterSeconds !== undefined) headers['Retry-After'] = String(retryAfterSeconds);
  res.writeHead(status, headers);
  res.end(reason);
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
