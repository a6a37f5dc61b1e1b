import type { Response } from 'express';
import { closeAllApps, eventually, startCounterApp } from '../helpers/counter-app.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { RawClient, requestBytes } from '../helpers/raw-socket.js';
import { showsCount } from '../../support/png.js';

const stopRecorders: (() => void)[] = [];
afterEach(async () => {
  for (const stop of stopRecorders.splice(0)) stop();
  RawClient.destroyAll();
  await closeAllApps();
});

/** A counter app with a route after the middleware that reports `req.app.locals.userCount`. */
async function startApp(): Promise<CounterApp & { serverStreams: Response[] }> {
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
function openServerStreams(serverStreams: Response[]): number {
  return serverStreams.filter((res) => res.statusCode === 200 && res.headersSent && !res.closed).length;
}

async function jsonCount(url: string): Promise<{ count: unknown; cacheControl: string | null }> {
  const response = await fetch(`${url}/online.json`);
  return { count: ((await response.json()) as { count: unknown }).count, cacheControl: response.headers.get('cache-control') };
}

async function localsCount(url: string): Promise<{ value: unknown; type: string }> {
  const response = await fetch(`${url}/locals`);
  return (await response.json()) as { value: unknown; type: string };
}

/** Every count the handle reports, to check that none is ever negative. */
function recordEvents(started: CounterApp) {
  const seen = { change: [] as number[], connect: [] as number[], disconnect: [] as number[], polled: [] as number[] };
  started.counter.events.on('change', ({ count }) => seen.change.push(count));
  started.counter.events.on('connect', ({ count }) => seen.connect.push(count));
  started.counter.events.on('disconnect', ({ count }) => seen.disconnect.push(count));
  const poll = setInterval(() => seen.polled.push(started.counter.count), 2);
  const stop = () => clearInterval(poll);
  stopRecorders.push(stop);
  return {
    seen,
    stop,
    lowest: () => Math.min(0, ...seen.change, ...seen.connect, ...seen.disconnect, ...seen.polled),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function openViewers(url: string, n: number): Promise<RawClient[]> {
  const viewers = await Promise.all(Array.from({ length: n }, () => RawClient.request(url)));
  await Promise.all(viewers.map((viewer) => viewer.waitForHead()));
  for (const viewer of viewers) expect(viewer.status).toBe(200);
  return viewers;
}

test('one viewer counts 1 in the handle, in /online.json (never cached) and in req.app.locals.userCount', async () => {
  const started = await startApp();
  const [viewer] = await openViewers(started.url, 1);
  await eventually(() => started.counter.count === 1, 'count 1');

  const json = await jsonCount(started.url);
  expect(json.count).toBe(1);
  expect(json.cacheControl).toContain('no-store');
  expect(await localsCount(started.url)).toEqual({ value: 1, type: 'number' });

  viewer.close();
  await eventually(() => started.counter.count === 0, 'count 0 after the viewer left', 2000);
  expect((await jsonCount(started.url)).count).toBe(0);
  expect(await localsCount(started.url)).toEqual({ value: 0, type: 'number' });
});

test('50 viewers at once count 50 in the handle, the JSON and the locals; they agree at every step down to 0', async () => {
  const started = await startApp();
  const events = recordEvents(started);
  const viewers = await openViewers(started.url, 50);
  await eventually(() => started.counter.count === 50, `count 50, have ${started.counter.count}`);
  expect((await jsonCount(started.url)).count).toBe(50);
  expect(await localsCount(started.url)).toEqual({ value: 50, type: 'number' });
  expect(openServerStreams(started.serverStreams)).toBe(50);

  // Leave one at a time; after each departure all three views agree with the server.
  for (let left = 1; left <= viewers.length; left++) {
    viewers[left - 1].close();
    const expected = 50 - left;
    await eventually(() => started.counter.count === expected, `count ${expected}`, 2000);
    expect((await jsonCount(started.url)).count).toBe(expected);
    expect((await localsCount(started.url)).value).toBe(expected);
    await eventually(() => openServerStreams(started.serverStreams) === expected, `${expected} open server streams`, 2000);
  }
  events.stop();
  expect(events.lowest()).toBe(0);
  expect(events.seen.connect).toHaveLength(50);
  expect(events.seen.disconnect).toHaveLength(50);
});

/** Ways a viewer leaves, each applied to a batch of open viewers. */
const departures: [string, (viewer: RawClient) => void][] = [
  ['a half-close (FIN, the client still reading)', (viewer) => viewer.socket.end()],
  ['socket.destroy()', (viewer) => viewer.socket.destroy()],
  ['socket.resetAndDestroy() (TCP RST)', (viewer) => viewer.reset()],
];

test.each(departures)('20 viewers leaving by %s bring the count back to exactly 0, never below', async (_name, leave) => {
  const started = await startApp();
  const events = recordEvents(started);
  const viewers = await openViewers(started.url, 20);
  await eventually(() => started.counter.count === 20, 'count 20');
  for (const viewer of viewers) leave(viewer);
  await eventually(() => started.counter.count === 0, `count 0, have ${started.counter.count}`, 2000);
  await eventually(() => openServerStreams(started.serverStreams) === 0, 'no open server streams', 2000);
  await sleep(200);
  events.stop();
  expect(started.counter.count).toBe(0);
  expect(events.lowest()).toBe(0);
  expect(events.seen.connect).toHaveLength(20);
  expect(events.seen.disconnect).toHaveLength(20);
  expect(events.seen.disconnect.at(-1)).toBe(0);
  expect((await jsonCount(started.url)).count).toBe(0);
});

test('viewers that send the whole request and vanish before the first response byte leave no count behind', async () => {
  const started = await startApp();
  const events = recordEvents(started);
  // Half reset, half closed; all in the same tick as the request, so no response byte was read.
  const clients = await Promise.all(Array.from({ length: 40 }, () => RawClient.connect(started.url)));
  clients.forEach((client, i) => {
    client.socket.write(requestBytes(started.url));
    if (i % 2 === 0) client.reset();
    else client.close();
  });
  await eventually(() => clients.every((client) => client.closed), 'every client socket closed');
  await eventually(() => started.counter.count === 0 && openServerStreams(started.serverStreams) === 0, 'count 0', 2000);
  await sleep(300);
  events.stop();
  expect(clients.every((client) => client.received.length === 0)).toBe(true);
  expect(started.counter.count).toBe(0);
  expect(events.lowest()).toBe(0);
  // Whatever the server managed to count was uncounted again, exactly once.
  expect(events.seen.disconnect).toHaveLength(events.seen.connect.length);
  expect((await jsonCount(started.url)).count).toBe(0);
});

test('viewers that leave while a slow middleware before the counter still holds their request are not left counted', async () => {
  // As a session or auth lookup would: the counter sees the request only 100 ms later.
  let seen = 0;
  let passed = 0;
  const slowly = (_req: unknown, _res: unknown, next: () => void): void => {
    seen += 1;
    setTimeout(() => {
      passed += 1;
      next();
    }, 100);
  };
  const started = await startCounterApp({}, { before: (app) => app.use(slowly) });
  const events = recordEvents(started);
  const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(started.url)));
  for (const client of clients) client.socket.write(requestBytes(started.url));
  await sleep(20);
  clients.forEach((client, i) => (i % 2 === 0 ? client.reset() : client.close()));
  await eventually(() => clients.every((client) => client.closed), 'every client socket closed');
  // Every request the server read has gone past the middleware to the counter (a reset may
  // have discarded one before the server read it).
  await eventually(() => seen > 0 && passed === seen, 'every request past the middleware', 10_000);
  await eventually(() => started.counter.count === 0 && events.seen.disconnect.length === events.seen.connect.length, 'every counted request uncounted', 10_000);
  events.stop();
  expect(started.counter.count).toBe(0);
  expect(events.seen.disconnect).toHaveLength(events.seen.connect.length);
  expect(events.lowest()).toBe(0);
  expect((await jsonCount(started.url)).count).toBe(0);
});

test('viewers that vanish in the middle of their request headers are never counted', async () => {
  const started = await startApp();
  const events = recordEvents(started);
  const whole = requestBytes(started.url);
  const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(started.url)));
  clients.forEach((client, i) => {
    // Cut somewhere after the request line and before the blank line that ends the headers.
    client.socket.write(whole.subarray(0, 20 + ((i * 7) % (whole.length - 24))));
  });
  await sleep(100);
  clients.forEach((client, i) => (i % 2 === 0 ? client.reset() : client.close()));
  await eventually(() => clients.every((client) => client.closed), 'every client socket closed');
  await sleep(300);
  events.stop();
  expect(started.counter.count).toBe(0);
  expect(events.seen.connect).toEqual([]);
  expect(events.seen.change).toEqual([]);
  expect(started.serverStreams).toHaveLength(0);
  expect(events.lowest()).toBe(0);
});

test('a server-side end with counter.close() brings the count to exactly 0 and ends every stream', async () => {
  const started = await startApp();
  const events = recordEvents(started);
  const viewers = await openViewers(started.url, 15);
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

test('change events carry each new total; connect and disconnect fire once per stream', async () => {
  const started = await startApp();
  const events = recordEvents(started);
  const viewers: RawClient[] = [];
  for (let n = 1; n <= 3; n++) {
    viewers.push(...(await openViewers(started.url, 1)));
    await eventually(() => started.counter.count === n, `count ${n}`);
  }
  for (let n = 2; n >= 0; n--) {
    viewers.shift()!.close();
    await eventually(() => started.counter.count === n, `count ${n}`, 2000);
  }
  expect(events.seen.change).toEqual([1, 2, 3, 2, 1, 0]);
  expect(events.seen.connect).toEqual([1, 2, 3]);
  expect(events.seen.disconnect).toEqual([2, 1, 0]);

  // Ten at once: ten connects, ten disconnects, whatever the interleaving.
  const ten = await openViewers(started.url, 10);
  await eventually(() => started.counter.count === 10, 'count 10');
  ten.forEach((viewer, i) => (i % 2 ? viewer.close() : viewer.reset()));
  await eventually(() => started.counter.count === 0, 'count 0', 2000);
  await sleep(200);
  events.stop();
  expect(events.seen.connect).toHaveLength(13);
  expect(events.seen.disconnect).toHaveLength(13);
  expect(events.seen.change.at(-1)).toBe(0);
  expect(events.lowest()).toBe(0);
});

/** A small seeded generator (mulberry32), so a failing run can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('over 200 random joins, departures and aborts (seed 20120) the count always settles to the streams the server has open', async () => {
  const started = await startApp();
  const events = recordEvents(started);
  const random = seededRandom(20120);
  const live: RawClient[] = [];
  const log: string[] = [];
  for (let step = 0; step < 200; step++) {
    const roll = random();
    if (roll < 0.45 || live.length === 0) {
      const [viewer] = await openViewers(started.url, 1);
      live.push(viewer);
      log.push('join');
    } else if (roll < 0.8) {
      const [viewer] = live.splice(Math.floor(random() * live.length), 1);
      const how = Math.floor(random() * 3);
      if (how === 0) viewer.close();
      else if (how === 1) viewer.reset();
      else viewer.socket.end();
      log.push(['leave-fin', 'leave-rst', 'leave-half-close'][how]);
    } else {
      const client = await RawClient.connect(started.url);
      const bytes = requestBytes(started.url);
      const whole = random() < 0.5;
      client.socket.write(whole ? bytes : bytes.subarray(0, Math.floor(random() * (bytes.length - 4))));
      if (random() < 0.5) client.reset();
      else client.close();
      log.push(whole ? 'abort-after-request' : 'abort-mid-request');
    }
    const expected = live.length;
    await eventually(
      () => started.counter.count === expected && openServerStreams(started.serverStreams) === expected,
      `step ${step} (${log.slice(-5).join(', ')}): count ${started.counter.count} and ${openServerStreams(started.serverStreams)} open server streams, expected ${expected}`,
      3000,
    );
    if (step % 25 === 0) expect((await jsonCount(started.url)).count).toBe(expected);
  }
  for (const viewer of live.splice(0)) viewer.close();
  await eventually(() => started.counter.count === 0 && openServerStreams(started.serverStreams) === 0, 'count 0 at the end', 3000);
  events.stop();
  expect(events.lowest()).toBe(0);
  expect(events.seen.disconnect).toHaveLength(events.seen.connect.length);
  expect(new Set(log)).toEqual(new Set(['join', 'leave-fin', 'leave-rst', 'leave-half-close', 'abort-after-request', 'abort-mid-request']));
});

// A second request pipelined on one connection would queue behind the first stream for ever:
// the connection is closed (lib/pipelined-requests.ts), and nothing stays counted.
test('a stream request pipelined behind another on one connection is not left counted after the connection closes', async () => {
  const started = await startApp();
  const client = await RawClient.connect(started.url);
  client.socket.write(Buffer.concat([requestBytes(started.url), requestBytes(started.url)]));
  await eventually(() => client.closed, 'the server closes the connection', 10_000);
  expect(started.counter.count).toBeLessThanOrEqual(1);
  client.close();
  await eventually(() => client.closed, 'the client socket closed');
  await eventually(() => started.counter.count === 0, `count 0, have ${started.counter.count}`, 2000);
});

// Was a bug: the joiner was sent the frame for 3 at once; the count then went back to 2, the
// frame everyone else showed, so no broadcast came and the joiner kept showing 3.
test('a viewer who joins just before another leaves ends up showing the settled count, like everyone else', async () => {
  const { url, counter } = await startCounterApp();
  const [stays, leaves] = await Promise.all([RawClient.request(url), RawClient.request(url)]);
  await eventually(() => [stays, leaves].every((viewer) => viewer.lastFrame !== undefined && showsCount(viewer.lastFrame, 2)), 'both show 2');
  const joins = await RawClient.request(url);
  await eventually(() => joins.lastFrame !== undefined && showsCount(joins.lastFrame, 3), 'the joiner is sent 3 at once');
  leaves.close();
  await eventually(() => counter.count === 2, 'count 2');
  await eventually(() => joins.lastFrame !== undefined && showsCount(joins.lastFrame, 2), 'the joiner shows 2');
  expect(showsCount(stays.lastFrame!, 2)).toBe(true);
});
