import { closeAllApps, quietLogger, startCounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { startTestRedis } from '../helpers/redis-server.js';
import { closeAllStores, connectStore, uniquePrefix } from '../helpers/redis-store.js';
import type { TestRedis } from '../helpers/redis-server.js';
import type { ClientLibrary } from '../helpers/redis-store.js';
import { closeAllViewers, openViewers } from '../helpers/viewer.js';
import type { Viewer } from '../helpers/viewer.js';
import { showsCount } from '../../support/png.js';

// Redis stopped and started again under two live instances: the streams go on, on the
// local count, and the totals heal once Redis is back.

let redis: TestRedis;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(async () => {
  redis = await startTestRedis();
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await redis?.close();
});
afterEach(async () => {
  closeAllViewers();
  await redis.start().catch(() => undefined);
  await closeAllApps();
  await closeAllStores();
});

async function shows(app: CounterApp, watchers: Viewer[], n: number, what: string, timeoutMs = 5000): Promise<void> {
  await eventually(() => app.counter.count === n, `${what}: count ${n}, have ${app.counter.count}`, timeoutMs);
  await Promise.all(watchers.map((viewer) => viewer.waitForLastFrame((png) => showsCount(png, n), `${what}: a frame showing ${n}`, timeoutMs)));
}

const unreachableWarnings = (logger: { warn: jest.Mock }) =>
  logger.warn.mock.calls.filter(([message]) => /^express-user-counter \[WRN_USER_COUNTER_REDIS_UNREACHABLE\]: .*cannot reach Redis/.test(String(message))).length;

describe.each<ClientLibrary>(['ioredis', 'node-redis'])('with %s', (library) => {
  test('Redis stopped and restarted mid-stream: streams never break, show the local count, warn once, say unreachable, and totals heal', async () => {
    const prefix = uniquePrefix();
    const heartbeatMs = 300;
    const ttlMs = 1200;
    const storeLoggers = [quietLogger(), quietLogger()];
    const stores = await Promise.all(
      storeLoggers.map(async (logger) => (await connectStore(library, redis, { prefix, heartbeatMs, ttlMs, logger })).store),
    );
    const storeErrors: Error[][] = [[], []];
    stores.forEach((store, i) => store.events.on('error', (error) => storeErrors[i].push(error)));
    const a = await startCounterApp({ store: stores[0] });
    const b = await startCounterApp({ store: stores[1] });
    const counterErrors: Error[] = [];
    a.counter.events.on('error', (error) => counterErrors.push(error));

    const onA = await openViewers(a.url, 2);
    const onB = await openViewers(b.url, 1);
    await shows(a, onA, 3, 'before the outage');
    await shows(b, onB, 3, 'before the outage');
    // A call slower than the heartbeat (a busy machine) is an outage too, and one that ends: what
    // this outage adds is counted from here.
    await eventually(() => stores.every((store) => store.reachable), 'both stores to reach Redis before the outage');
    expect(a.counter.stats().storeReachable).toBe(true);
    const warnedBefore = storeLoggers.map(unreachableWarnings);
    const errorsBefore = storeErrors.map((errors) => errors.length);
    const counterErrorsBefore = counterErrors.length;
    const sinceStop = () => ({
      warnings: storeLoggers.map((logger, i) => unreachableWarnings(logger) - warnedBefore[i]),
      errors: storeErrors.map((errors, i) => errors.length - errorsBefore[i]),
    });

    await redis.stop();
    const stoppedAt = Date.now();
    await eventually(() => sinceStop().warnings.every((n) => n === 1) && stores.every((store) => !store.reachable), 'one warning from each store, and both unreachable', 5000);
    expect(sinceStop().errors).toEqual([1, 1]);
    expect(storeErrors[0].at(-1)!.message).toMatch(/cannot reach Redis/);
    expect(counterErrors.length - counterErrorsBefore).toBe(1);
    expect(stores.map((store) => store.reachable)).toEqual([false, false]);
    expect(a.counter.stats().storeReachable).toBe(false);

    // A viewer joining during the outage is counted and shown at once on its instance.
    const late = await openViewers(a.url, 1);
    await late[0].waitForFrames(1);
    expect(a.counter.count).toBeGreaterThanOrEqual(3);
    // Once the others' totals are a TTL old, each instance shows its own viewers.
    await shows(a, [...onA, ...late], 3, 'A during the outage', ttlMs + heartbeatMs + 5000);
    await shows(b, onB, 1, 'B during the outage', ttlMs + heartbeatMs + 5000);
    // Several heartbeats later: still one warning each, and every stream still open.
    const waited = Date.now() - stoppedAt;
    if (waited < 4 * heartbeatMs) await new Promise((resolve) => setTimeout(resolve, 4 * heartbeatMs - waited));
    expect(sinceStop()).toEqual({ warnings: [1, 1], errors: [1, 1] });
    expect([...onA, ...onB, ...late].some((viewer) => viewer.ended)).toBe(false);

    await redis.start();
    await shows(a, [...onA, ...late], 4, 'A after Redis is back', heartbeatMs + 8000);
    await shows(b, onB, 4, 'B after Redis is back', heartbeatMs + 8000);
    const back = (logger: { warn: jest.Mock }) =>
      logger.warn.mock.calls.filter(([message]) => /^express-user-counter \[WRN_USER_COUNTER_REDIS_BACK\]: .*reachable again/.test(String(message)));
    // One "back" per outage, as one "unreachable".
    expect(back(storeLoggers[0])).toHaveLength(unreachableWarnings(storeLoggers[0]));
    expect(stores.map((store) => store.reachable)).toEqual([true, true]);
    expect(a.counter.stats().storeReachable).toBe(true);

    // Business as usual: a leave on B shows on A.
    onB[0].close();
    await shows(a, [...onA, ...late], 3, 'A after a leave on B');
    expect([...onA, ...late].some((viewer) => viewer.ended)).toBe(false);
    expect(unhandled).toEqual([]);
  });
});

test('a store whose Redis is down from the start still counts locally, warns once, and joins the total when Redis comes up', async () => {
  const prefix = uniquePrefix();
  const logger = quietLogger();
  const peer = await connectStore('ioredis', redis, { prefix, heartbeatMs: 300, ttlMs: 1200 });
  await peer.store.init();
  peer.store.increment('');
  await eventually(() => peer.commands.length >= 2, 'the peer to write its count');
  await redis.stop();
  const store = (await connectStore('ioredis', redis, { prefix, heartbeatMs: 300, ttlMs: 1200, logger })).store;
  const app = await startCounterApp({ store });
  const [viewer] = await openViewers(app.url, 1);
  await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing the local 1');
  await eventually(() => unreachableWarnings(logger) === 1, 'one warning');
  expect(store.reachable).toBe(false);
  await redis.start();
  // The peer's count was lost with Redis's memory; its heartbeat writes it again.
  await shows(app, [viewer], 2, 'after Redis comes up', 10_000);
  expect(unreachableWarnings(logger)).toBe(1);
  expect(store.reachable).toBe(true);
  expect(unhandled).toEqual([]);
});
