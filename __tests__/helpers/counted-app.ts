import type { Response } from 'express';
import { startCounterApp } from './counter-app.js';
import type { CounterApp } from './counter-app.js';
import { closeAfterEachTest } from './cleanup.js';
import { RawConnection } from './raw-connection.js';

/*
 * The count seen from every side at once, for the tests of counting: the handle, /online.json,
 * `req.app.locals.userCount`, the events, and the streams the server itself still writes.
 */

/** A counter app that also keeps the server's side of every stream and reports the locals at `/locals`. */
export interface CountedApp extends CounterApp {
  readonly serverStreams: Response[];
}

export async function startCountedApp(): Promise<CountedApp> {
  const serverStreams: Response[] = [];
  const started = await startCounterApp(
    {},
    {
      // Mounted before the counter: the server's side of every stream request.
      before: (app) =>
        app.use((req, res, next) => {
          if (req.path === '/online.png') serverStreams.push(res);
          next();
        }),
      after: (app) =>
        app.get('/locals', (req, res) => {
          const value: unknown = req.app.locals.userCount;
          res.json({ value, type: typeof value });
        }),
    },
  );
  return Object.assign(started, { serverStreams });
}

/** Streams the server is still writing: answered 200 and not closed. */
export function openServerStreams(serverStreams: Response[]): number {
  return serverStreams.filter((res) => res.statusCode === 200 && res.headersSent && !res.closed).length;
}

export async function jsonCount(url: string): Promise<{ count: unknown; cacheControl: string | null }> {
  const response = await fetch(`${url}/online.json`);
  return { count: ((await response.json()) as { count: unknown }).count, cacheControl: response.headers.get('cache-control') };
}

export async function localsCount(url: string): Promise<{ value: unknown; type: string }> {
  const response = await fetch(`${url}/locals`);
  return (await response.json()) as { value: unknown; type: string };
}

const recorders = new Set<() => void>();
closeAfterEachTest(() => {
  for (const stop of recorders) stop();
  recorders.clear();
});

/** Every count the handle reports (its events, and polled every 2 ms), to check that none is ever negative. */
export function recordEvents(started: CounterApp) {
  const seen = { change: [] as number[], connect: [] as number[], disconnect: [] as number[], polled: [] as number[] };
  started.counter.events.on('change', ({ count }) => seen.change.push(count));
  started.counter.events.on('connect', ({ count }) => seen.connect.push(count));
  started.counter.events.on('disconnect', ({ count }) => seen.disconnect.push(count));
  const poll = setInterval(() => seen.polled.push(started.counter.count), 2);
  const stop = () => clearInterval(poll);
  recorders.add(stop);
  return {
    seen,
    stop,
    lowest: () => Math.min(0, ...seen.change, ...seen.connect, ...seen.disconnect, ...seen.polled),
  };
}

/** Open `n` streams on raw connections; resolves once each is answered 200. */
export async function openStreams(url: string, n: number): Promise<RawConnection[]> {
  const viewers = await Promise.all(Array.from({ length: n }, () => RawConnection.open(url)));
  for (const viewer of viewers) expect((await viewer.waitForHead()).status).toBe(200);
  return viewers;
}
