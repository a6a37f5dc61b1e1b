// However a viewer leaves (FIN, RST, half-close, before the first response byte, in the middle
// of its request headers, behind a slow middleware, pipelined), the count returns to exactly
// the streams the server still has open, and never goes below 0.
import { startCounterApp } from '../helpers/counter-app.js';
import { jsonCount, openServerStreams, openStreams, recordEvents, startCountedApp } from '../helpers/counted-app.js';
import { Random } from '../helpers/random.js';
import { RawConnection, imageRequest } from '../helpers/raw-connection.js';
import { eventually, sleep } from '../helpers/time.js';

/** Ways a viewer leaves, each applied to a batch of open viewers. */
const departures: [string, (viewer: RawConnection) => void][] = [
  ['a half-close (FIN, the client still reading)', (viewer) => viewer.end()],
  ['socket.destroy()', (viewer) => viewer.destroy()],
  ['socket.resetAndDestroy() (TCP RST)', (viewer) => viewer.reset()],
];

test.each(departures)('20 viewers leaving by %s bring the count back to exactly 0, never below', async (_name, leave) => {
  const started = await startCountedApp();
  const events = recordEvents(started);
  const viewers = await openStreams(started.url, 20);
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
  const started = await startCountedApp();
  const events = recordEvents(started);
  // Half reset, half closed; all in the same tick as the request, so no response byte was read.
  const clients = await Promise.all(Array.from({ length: 40 }, () => RawConnection.connect(started.url)));
  clients.forEach((client, i) => {
    client.write(imageRequest(started.url));
    if (i % 2 === 0) client.reset();
    else client.destroy();
  });
  await eventually(() => clients.every((client) => client.closed), 'every client socket closed');
  await eventually(() => started.counter.count === 0 && openServerStreams(started.serverStreams) === 0, 'count 0', 2000);
  await sleep(300);
  events.stop();
  expect(clients.every((client) => client.received === 0)).toBe(true);
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
  const clients = await Promise.all(Array.from({ length: 20 }, () => RawConnection.connect(started.url)));
  for (const client of clients) client.write(imageRequest(started.url));
  await eventually(() => seen === clients.length, 'every request held by the slow middleware');
  clients.forEach((client, i) => (i % 2 === 0 ? client.reset() : client.destroy()));
  await eventually(() => clients.every((client) => client.closed), 'every client socket closed');
  // Every request has gone past the middleware to the counter, after its viewer left.
  await eventually(() => seen > 0 && passed === seen, 'every request past the middleware', 10_000);
  await eventually(() => started.counter.count === 0 && events.seen.disconnect.length === events.seen.connect.length, 'every counted request uncounted', 10_000);
  events.stop();
  expect(started.counter.count).toBe(0);
  expect(events.seen.disconnect).toHaveLength(events.seen.connect.length);
  expect(events.lowest()).toBe(0);
  expect((await jsonCount(started.url)).count).toBe(0);
});

test('viewers that vanish in the middle of their request headers are never counted', async () => {
  const started = await startCountedApp();
  const events = recordEvents(started);
  const whole = imageRequest(started.url);
  const clients = await Promise.all(Array.from({ length: 20 }, () => RawConnection.connect(started.url)));
  clients.forEach((client, i) => {
    // Cut somewhere after the request line and before the blank line that ends the headers.
    client.write(whole.slice(0, 20 + ((i * 7) % (whole.length - 24))));
  });
  await sleep(100);
  clients.forEach((client, i) => (i % 2 === 0 ? client.reset() : client.destroy()));
  await eventually(() => clients.every((client) => client.closed), 'every client socket closed');
  await sleep(300);
  events.stop();
  expect(started.counter.count).toBe(0);
  expect(events.seen.connect).toEqual([]);
  expect(events.seen.change).toEqual([]);
  expect(started.serverStreams).toHaveLength(0);
  expect(events.lowest()).toBe(0);
});

test('over 200 random joins, departures and aborts (seed 20120) the count always settles to the streams the server has open', async () => {
  const started = await startCountedApp();
  const events = recordEvents(started);
  const seeded = new Random(20120);
  const random = () => seeded.next();
  const live: RawConnection[] = [];
  const log: string[] = [];
  for (let step = 0; step < 200; step++) {
    const roll = random();
    if (roll < 0.45 || live.length === 0) {
      const [viewer] = await openStreams(started.url, 1);
      live.push(viewer);
      log.push('join');
    } else if (roll < 0.8) {
      const [viewer] = live.splice(Math.floor(random() * live.length), 1);
      const how = Math.floor(random() * 3);
      if (how === 0) viewer.destroy();
      else if (how === 1) viewer.reset();
      else viewer.end();
      log.push(['leave-fin', 'leave-rst', 'leave-half-close'][how]);
    } else {
      const client = await RawConnection.connect(started.url);
      const bytes = imageRequest(started.url);
      const whole = random() < 0.5;
      client.write(whole ? bytes : bytes.slice(0, Math.floor(random() * (bytes.length - 4))));
      if (random() < 0.5) client.reset();
      else client.destroy();
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
  for (const viewer of live.splice(0)) viewer.destroy();
  await eventually(() => started.counter.count === 0 && openServerStreams(started.serverStreams) === 0, 'count 0 at the end', 3000);
  events.stop();
  expect(events.lowest()).toBe(0);
  expect(events.seen.disconnect).toHaveLength(events.seen.connect.length);
  expect(new Set(log)).toEqual(new Set(['join', 'leave-fin', 'leave-rst', 'leave-half-close', 'abort-after-request', 'abort-mid-request']));
});

// A second request pipelined on one connection would queue behind the first stream for ever:
// the connection is closed (lib/admission/pipelined-requests.ts), and nothing stays counted.
test('a stream request pipelined behind another on one connection is not left counted after the connection closes', async () => {
  const started = await startCountedApp();
  const client = await RawConnection.connect(started.url);
  client.write(imageRequest(started.url) + imageRequest(started.url));
  await eventually(() => client.closed, 'the server closes the connection', 10_000);
  expect(started.counter.count).toBeLessThanOrEqual(1);
  client.destroy();
  await eventually(() => client.closed, 'the client socket closed');
  await eventually(() => started.counter.count === 0, `count 0, have ${started.counter.count}`, 2000);
});
