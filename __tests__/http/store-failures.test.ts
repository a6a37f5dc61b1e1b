// A custom CountStore that fails: whatever it throws, or whatever promise it returns rejects, at
// any call, the process stays up, no request gets a crash, and the count contract stays whole
// (decrement only for an increment the store took, once each).
import { quietLogger, startCounterApp } from '../helpers/counter-app.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { responseHeads } from '../helpers/fuzz-requests.js';
import { MockStore } from '../helpers/mock-store.js';
import type { StoreCall } from '../helpers/mock-store.js';
import { RawConnection, imageRequest, rawRequest } from '../helpers/raw-connection.js';
import { eventually, sleep } from '../helpers/time.js';

/** What escaped to the process: an uncaught exception or an unhandled rejection would end it. */
const escaped: unknown[] = [];
const onEscaped = (error: unknown) => void escaped.push(error);
beforeAll(() => {
  process.on('uncaughtException', onEscaped);
  process.on('unhandledRejection', onEscaped);
});
afterAll(() => {
  process.off('uncaughtException', onEscaped);
  process.off('unhandledRejection', onEscaped);
});
beforeEach(() => void escaped.splice(0));

/** Let every callback, timer and rejection check of the last requests run. */
async function settle(): Promise<void> {
  await sleep(50);
  await new Promise((resolve) => setImmediate(resolve));
}

/** An app on `store` with rooms (`?page=`), the locals at `/locals`, and its logger and `error` events kept. */
async function startWithStore(store: MockStore): Promise<CounterApp & { logger: ReturnType<typeof quietLogger>; errors: Error[] }> {
  const logger = quietLogger();
  const app = await startCounterApp(
    { store, logger, room: (req) => (typeof req.query.page === 'string' ? req.query.page : undefined) },
    { after: (express) => express.get('/locals', (req, res) => void res.json({ value: req.app.locals.userCount as unknown })) },
  );
  const errors: Error[] = [];
  app.counter.events.on('error', (error) => errors.push(error));
  return Object.assign(app, { logger, errors });
}

test('pipelined behind a JSON request, a stream whose increment throws is refused (503, Retry-After); the process stays up and nothing is decremented', async () => {
  const store = new MockStore({ fails: { increment: 'throws' } });
  const app = await startWithStore(store);
  const json = rawRequest('GET', '/online.json', [['Host', new URL(app.url).host]]);
  const connection = await RawConnection.send(app.url, json + imageRequest(app.url));
  await connection.waitFor((c) => responseHeads(c.data).length === 2, 'two answers');
  const [, stream] = responseHeads(connection.data);
  expect(stream.status).toBe(503);
  expect(stream.headers).toMatch(/^retry-after: \d+\r$/im);
  connection.destroy();
  await settle();
  expect(escaped).toEqual([]);
  expect(store.unmatchedDecrements).toEqual([]);
  expect(app.counter.stats()).toMatchObject({ connections: 0, rooms: 0 });
  expect(app.errors.map((error) => error.message)).toEqual([expect.stringMatching(/increment.*MockStore: increment failed/)]);
});

test('a stream whose increment throws is refused the same way when not pipelined, and never decremented', async () => {
  const store = new MockStore({ fails: { increment: 'throws' } });
  const app = await startWithStore(store);
  const refused = await RawConnection.open(app.url);
  expect((await refused.waitForHead()).status).toBe(503);
  refused.destroy();
  await settle();
  expect(store.unmatchedDecrements).toEqual([]);
  expect(app.counter.stats().connections).toBe(0);
});

test('a pipelined stream request that other middleware answered while it waited (a timeout) does not open; the process stays up', async () => {
  const store = new MockStore();
  const app = await startCounterApp(
    { store, logger: quietLogger() },
    {
      before: (express) => {
        express.get('/slow', (_req, res) => void setTimeout(() => res.send('slow'), 300));
        // A timeout middleware: it answers the stream request while that waits behind /slow.
        express.use((req, res, next) => {
          if (req.path === '/online.png') setTimeout(() => void res.status(503).end('timed out'), 50);
          next();
        });
      },
    },
  );
  const { host } = new URL(app.url);
  const connection = await RawConnection.send(app.url, rawRequest('GET', '/slow', [['Host', host]]) + imageRequest(app.url));
  await connection.waitFor((c) => responseHeads(c.data).length === 2, 'two answers');
  expect(responseHeads(connection.data).map(({ status }) => status)).toEqual([200, 503]);
  await settle();
  expect(escaped).toEqual([]);
  expect(store.calls.filter((call) => call === 'increment' || call === 'decrement')).toEqual([]);
  expect(app.counter.stats().connections).toBe(0);
});

describe.each<[StoreCall, 'throws' | 'rejects']>([
  ['init', 'throws'],
  ['init', 'rejects'],
  ['increment', 'throws'],
  ['increment', 'rejects'],
  ['decrement', 'throws'],
  ['decrement', 'rejects'],
  ['count', 'throws'],
  ['count', 'rejects'],
  ['rooms', 'throws'],
  ['rooms', 'rejects'],
  ['close', 'throws'],
  ['close', 'rejects'],
])('a store whose %s %s', (call, mode) => {
  test('every route answers without a 5xx but the 503 of a stream it cannot count, the handle reads, close() resolves; the process stays up and the contract holds', async () => {
    const store = new MockStore({ fails: { [call]: mode } });
    const app = await startWithStore(store);
    const streams = await Promise.all(['', '?page=/a', '?page=/a'].map((query) => RawConnection.open(app.url, { path: `/online.png${query}` })));
    for (const stream of streams) {
      const { status } = await stream.waitForHead();
      // A stream the store cannot count is refused; every other one streams.
      expect(status).toBe(call === 'increment' && mode === 'throws' ? 503 : 200);
    }
    const statuses = [];
    for (const path of ['/online.json', '/online.json?page=/a', '/online.shields.json', '/online.png?static=1', '/locals']) {
      statuses.push((await fetch(`${app.url}${path}`)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const { counter } = app;
    for (const read of [() => counter.count, () => counter.countIn('/a'), () => counter.stats().count]) {
      expect(read()).toEqual(expect.any(Number));
      expect(read()).toBeGreaterThanOrEqual(0);
    }
    expect(counter.rooms()).toBeInstanceOf(Map);
    for (const stream of streams) stream.destroy();
    await eventually(() => counter.stats().connections === 0, 'every stream gone');
    await expect(counter.close()).resolves.toBeUndefined();
    await settle();

    expect(escaped).toEqual([]);
    expect(store.unmatchedDecrements).toEqual([]);
    // Every increment that returned was given its decrement.
    expect(store.unmatchedIncrements).toBe(0);
    // Reported (some calls fail while the counter starts, before a listener could be added), and
    // once: not once per request, which a client could use to fill the log.
    expect(app.logger.error.mock.calls).toEqual([[expect.stringContaining(`the store's ${call}() failed`)]]);
  });
});
