// counter.close(): every stream ends with a whole dimmed frame and the close-delimiter, the
// count goes to exactly 0, later streams are refused, and nothing is left behind, however the
// viewers read.
import { randomFillSync } from 'node:crypto';
import { PNG } from 'pngjs';
import { MemoryCountStore } from '../../lib/index.js';
import { startCounterApp } from '../helpers/counter-app.js';
import { jsonCount, openServerStreams, openStreams, recordEvents, startCountedApp } from '../helpers/counted-app.js';
import { trackCounterTimers } from '../helpers/counter-timers.js';
import { RawConnection } from '../helpers/raw-connection.js';
import { eventually, sleep } from '../helpers/time.js';
import { decodePng, expectedEndedFrame, samePixels, showsCount } from '../../support/png.js';

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

test('close() cuts off a viewer that cannot take the close-delimiter, and still resolves within a few seconds', async () => {
  // Large frames fill the socket buffers of a viewer that does not read.
  const noise = new Map<number, Buffer>();
  const render = (count: number): Buffer => {
    let png = noise.get(count);
    if (!png) {
      const image = new PNG({ width: 600, height: 600 });
      randomFillSync(image.data);
      png = PNG.sync.write(image, { deflateLevel: 0, filterType: 0 });
      noise.set(count, png);
    }
    return png;
  };
  const serverSockets: import('node:net').Socket[] = [];
  const { url, counter } = await startCounterApp(
    { render, keepAliveMs: 100, stallTimeoutMs: 60_000 },
    { before: (app) => app.use((req, _res, next) => (serverSockets.push(req.socket), next())) },
  );
  const stuck = await RawConnection.open(url);
  await stuck.waitForHead();
  stuck.pause();
  await eventually(() => counter.count === 1, 'count 1');
  // Keep-alives pile into the kernel buffers until the response itself holds data (how long
  // that takes depends on the kernel's buffers and the machine: a condition, not a time).
  await eventually(() => serverSockets[0].writableLength > 0, 'data waiting on the server side', 30_000);

  await within(6000, 'counter.close() with a viewer that does not read', counter.close());
  expect(counter.count).toBe(0);
  expect(serverSockets[0].destroyed).toBe(true);
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
