// counter.close(): every stream ends with a whole dimmed frame and the close-delimiter, the
// count goes to exactly 0, later streams are refused, and nothing is left behind, however the
// viewers read.
import type { ServerResponse } from 'node:http';
import { PNG } from 'pngjs';
import { MemoryCountStore } from '../../lib/index.js';
import { startCounterApp } from '../helpers/counter-app.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { jsonCount, openServerStreams, openStreams, recordEvents, startCountedApp } from '../helpers/counted-app.js';
import { trackCounterTimers } from '../helpers/counter-timers.js';
import { RawConnection, imageRequest } from '../helpers/raw-connection.js';
import { Viewer, closeDelimiterOf } from '../helpers/viewer.js';
import { eventually, sleep } from '../helpers/time.js';
import { decodePng, expectedEndedFrame, samePixels, showsCount } from '../../support/png.js';

/** A PNG of random pixels: it does not compress, so a few fill a socket's buffers. */
function noisePng(side: number, seed: number): Buffer {
  const png = new PNG({ width: side, height: side });
  let state = seed;
  for (let i = 0; i < png.data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    png.data[i] = state >>> 24;
  }
  return PNG.sync.write(png, { deflateLevel: 0, filterType: 0 });
}

/** Resolves with how long `promise` took; rejects if it takes longer than `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<number> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
  return Date.now() - started;
}

/** How many listeners the store's emitter holds, over all event types. */
function storeListeners(store: MemoryCountStore): number {
  let listeners = 0;
  for (const handlers of store.events.all.values()) listeners += handlers.length;
  return listeners;
}

/** Ref'd timers that keep the process alive, as Node reports them. */
function refTimeouts(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

test('close() ends all 10 streams with the ended frame and the close-delimiter, then refuses streams with 503, keeps /online.json, and leaves nothing behind', async () => {
  const timers = trackCounterTimers();
  try {
    const baselineRef = refTimeouts();
    const store = new MemoryCountStore();
    expect(storeListeners(store)).toBe(0);
    const started = await startCounterApp({ store, heartbeatMs: 50, keepAliveMs: 200 });
    const { url, counter, server } = started;
    expect(storeListeners(store)).toBeGreaterThan(0);

    const viewers = await Promise.all(Array.from({ length: 10 }, () => RawConnection.open(url)));
    await Promise.all(viewers.map((viewer) => viewer.waitForHead()));
    await eventually(() => counter.count === 10, 'count 10');
    // Every viewer shows 10 (on a busy machine the broadcast of 10 may come after the first frames).
    await eventually(() => viewers.every((viewer) => viewer.lastPart !== undefined && showsCount(viewer.lastPart, 10)), 'every stream showing 10', 10_000);
    const disconnects: number[] = [];
    const connects: number[] = [];
    counter.events.on('disconnect', ({ count }) => disconnects.push(count));
    counter.events.on('connect', ({ count }) => connects.push(count));

    await within(5000, 'counter.close()', counter.close());
    expect(counter.count).toBe(0);
    expect(disconnects).toHaveLength(10);
    expect(disconnects.at(-1)).toBe(0);

    for (const viewer of viewers) {
      await eventually(() => viewer.bodyEnded, 'the response ended (last chunk)', 2000);
      const boundary = /boundary=(\S+)/.exec(viewer.head!.headers['content-type'])![1];
      const body = viewer.body;
      const closeDelimiter = `\r\n--${boundary}--\r\n`;
      // The stream ends with the close-delimiter and nothing after it, exactly once.
      expect(body.subarray(-closeDelimiter.length).toString('latin1')).toBe(closeDelimiter);
      expect(body.indexOf(`--${boundary}--`)).toBe(body.length - closeDelimiter.length + 2);
      // The part it closes is whole: the image keeps showing the count, drawn as ended.
      const last = viewer.lastPart!;
      expect(decodePng(last).width).toBe(200);
      expect(samePixels(last, expectedEndedFrame(10))).toBe(true);
    }

    // After close: streams are refused and not counted; the JSON still answers.
    const late = await RawConnection.open(url);
    await late.waitForHead();
    expect(late.head!.status).toBe(503);
    expect(Number(late.head!.headers['retry-after'])).toBeGreaterThan(0);
    await sleep(100);
    expect(counter.count).toBe(0);
    expect(connects).toEqual([]);
    const json = await fetch(`${url}/online.json`);
    expect(json.status).toBe(200);
    expect(await json.json()).toEqual({ count: 0 });

    // The server closes on its own: no stream is holding a connection open.
    await within(3000, 'server.close() without closeAllConnections', new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))));

    expect(storeListeners(store)).toBe(0);
    await sleep(50);
    expect([...timers.live.values()]).toEqual([]);
    // Nothing that keeps the process alive is left (a short-lived timer elsewhere may come and go).
    await eventually(() => refTimeouts() <= baselineRef, `ref'd timers back to ${baselineRef}, have ${refTimeouts()}`, 2000);
  } finally {
    timers.stop();
  }
});

test('close() resolves once, whoever calls it, and a second call ends nothing twice', async () => {
  const { url, counter } = await startCounterApp();
  const viewers = await Promise.all(Array.from({ length: 3 }, () => RawConnection.open(url)));
  await Promise.all(viewers.map((viewer) => viewer.waitForHead()));
  await eventually(() => counter.count === 3, 'count 3');
  const disconnects: number[] = [];
  counter.events.on('disconnect', ({ count }) => disconnects.push(count));
  const first = counter.close();
  const second = counter.close();
  expect(second).toBe(first);
  await within(5000, 'counter.close()', first);
  await counter.close();
  expect(disconnects).toEqual([2, 1, 0]);
  for (const viewer of viewers) {
    await eventually(() => viewer.bodyEnded, 'the response ended');
    const boundary = /boundary=(\S+)/.exec(viewer.head!.headers['content-type'])![1];
    expect(viewer.body.toString('latin1').split(`--${boundary}--`)).toHaveLength(2);
  }
});

test('every open stream (HTTP/1.1 and HTTP/1.0) receives the close-delimiter after a complete PNG, the store holds 0, and server.close() completes promptly', async () => {
  const store = new MemoryCountStore();
  const app = await startCounterApp({ store });
  const changes: number[] = [];
  app.counter.events.on('change', ({ count }) => changes.push(count));
  const streams = await Promise.all([1, 2, 3].map(() => Viewer.open(app.url)));
  const http10 = await RawConnection.send(app.url, imageRequest(app.url, { version: 'HTTP/1.0' }));
  await eventually(() => app.counter.count === 4, 'count 4');
  for (const viewer of streams) await viewer.waitForFrames(1);
  await http10.waitForParts(1);

  await app.counter.close();

  for (const viewer of streams) {
    await viewer.waitForEnd(3000);
    expect(viewer.body.toString('latin1').endsWith(closeDelimiterOf(viewer))).toBe(true);
    expect(decodePng(viewer.lastFrame!).height).toBe(30);
  }
  await http10.waitForClose(3000);
  expect(http10.body.toString('latin1').endsWith(closeDelimiterOf(http10))).toBe(true);
  expect(decodePng(http10.parts[http10.parts.length - 1]).width).toBe(200);

  expect(store.count()).toBe(0);
  expect(store.count('')).toBe(0);
  expect(app.counter.count).toBe(0);
  expect(changes[changes.length - 1]).toBe(0);

  // After close: the count is still readable, new streams are refused and not counted.
  const json = await fetch(`${app.url}/online.json`);
  expect(await json.json()).toEqual({ count: 0 });
  const late = await RawConnection.send(app.url, imageRequest(app.url));
  const head = await late.waitForHead();
  expect(head.status).toBe(503);
  expect(head.headers['retry-after']).toMatch(/^\d+$/);
  expect(app.counter.count).toBe(0);
  late.destroy();

  const started = Date.now();
  await new Promise<void>((resolve, reject) => app.server.close((error) => (error ? reject(error) : resolve())));
  expect(Date.now() - started).toBeLessThan(2000);
});

/**
 * A counter of ~1 MB frames with one viewer that reads nothing, its socket's buffers full (however
 * large the kernel's are), and one that reads.
 */
async function withStuckViewer(): Promise<{ app: CounterApp; stuckResponse: ServerResponse; reader: Viewer }> {
  const frames = [noisePng(500, 1), noisePng(500, 2)];
  const responses: ServerResponse[] = [];
  const app = await startCounterApp(
    { render: (count) => frames[count % 2] },
    { before: (express) => express.use((_req, res, next) => (responses.push(res), next())) },
  );
  const stuck = await RawConnection.send(app.url, imageRequest(app.url));
  stuck.pause();
  await eventually(() => app.counter.count === 1, 'the stuck viewer counted');
  const stuckResponse = responses[0];
  const reader = await Viewer.open(app.url);
  await reader.waitForFrames(1, 10_000);
  for (let i = 0; i < 100 && stuckResponse.writableLength === 0; i++) {
    // Each change held until the reading viewer has seen its frame (a change is broadcast once it holds).
    const extra = await Viewer.open(app.url);
    await reader.waitForLastFrame((png) => png.equals(frames[3 % 2]), 'the frame for 3', 10_000);
    extra.close();
    await reader.waitForLastFrame((png) => png.equals(frames[2 % 2]), 'the frame for 2', 10_000);
  }
  expect(stuckResponse.writableLength).toBeGreaterThan(0);
  return { app, stuckResponse, reader };
}

test('close() cuts off a viewer that does not take the close-delimiter, and still resolves', async () => {
  const { app, stuckResponse, reader } = await withStuckViewer();
  // Node emits 'finish' on a destroyed response too: only one before the destroy is a delivery.
  let delivered = false;
  stuckResponse.on('finish', () => (delivered = !stuckResponse.destroyed));

  const started = Date.now();
  await app.counter.close();
  expect(Date.now() - started).toBeLessThan(8000);
  expect(app.counter.count).toBe(0);
  // Cut off: destroyed with its last bytes (the close-delimiter among them) never taken.
  expect(stuckResponse.destroyed).toBe(true);
  expect(delivered).toBe(false);
  // The viewer that reads got the close-delimiter.
  await reader.waitForEnd();
  expect(reader.body.toString('latin1').endsWith(closeDelimiterOf(reader))).toBe(true);
}, 30_000);

test('close() writes nothing more to a stream whose response the app ended while its viewer reads nothing (no write after end, nothing thrown)', async () => {
  const { app, stuckResponse } = await withStuckViewer();
  // The app's own code ends the response; its 'finish' waits for the viewer, who reads nothing.
  stuckResponse.end();
  expect(stuckResponse.writableFinished).toBe(false);
  const thrown: unknown[] = [];
  const onThrown = (error: unknown) => void thrown.push(error);
  process.on('uncaughtException', onThrown);
  try {
    await app.counter.close();
    await sleep(50);
  } finally {
    process.off('uncaughtException', onThrown);
  }
  expect(thrown).toEqual([]);
  expect(app.counter.count).toBe(0);
}, 30_000);

// The CountStore contract lets several counters share one store: the last to close closes it.
test('closing one of two counters sharing a MemoryCountStore retracts only its own viewers', async () => {
  const store = new MemoryCountStore();
  const a = await startCounterApp({ store });
  const b = await startCounterApp({ store });
  await Viewer.open(a.url);
  await Viewer.open(a.url);
  const stays = await Viewer.open(b.url);
  await eventually(() => store.count() === 3, 'count 3 over both counters');
  await a.counter.close();
  expect(store.count()).toBe(1);
  expect(b.counter.count).toBe(1);
  await stays.waitForFrames(1);
});

test('a server-side end with counter.close() brings the count to exactly 0 and ends every stream', async () => {
  const started = await startCountedApp();
  const events = recordEvents(started);
  const viewers = await openStreams(started.url, 15);
  await eventually(() => started.counter.count === 15, 'count 15');
  await started.counter.close();
  expect(started.counter.count).toBe(0);
  // The body ends (last chunk); the connection itself may stay open for keep-alive.
  await eventually(() => viewers.every((viewer) => viewer.bodyEnded), 'every stream ended by the server', 3000);
  for (const viewer of viewers) expect(viewer.body.subarray(-4).toString('latin1')).toBe('--\r\n');
  expect(openServerStreams(started.serverStreams)).toBe(0);
  events.stop();
  expect(events.lowest()).toBe(0);
  expect(events.seen.disconnect).toHaveLength(15);
  expect(events.seen.disconnect.at(-1)).toBe(0);
  expect((await jsonCount(started.url)).count).toBe(0);
});
