import { MemoryCountStore } from '../../lib/index.js';
import type { CountStore } from '../../lib/index.js';
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually, sleep } from '../helpers/time.js';
import { startTestRedis } from '../helpers/redis-server.js';
import { connectStore, uniquePrefix } from '../helpers/redis-store.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { Viewer } from '../helpers/viewer.js';
import { showsCount } from '../../support/png.js';

// The CountStore contract (lib/types/store.ts), one suite for every store.

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.close());

interface StoreFactory {
  readonly name: string;
  create(): Promise<CountStore>;
}

const factories: StoreFactory[] = [
  { name: 'MemoryCountStore', create: async () => new MemoryCountStore() },
  {
    name: 'RedisCountStore (ioredis)',
    create: async () => (await connectStore('ioredis', redis, { prefix: uniquePrefix() })).store,
  },
  {
    name: 'RedisCountStore (node-redis)',
    create: async () => (await connectStore('node-redis', redis, { prefix: uniquePrefix() })).store,
  },
];

const settle = () => sleep(150);

describe.each(factories)('$name', ({ create }) => {
  test('starts at 0 in every room', async () => {
    const store = await create();
    await store.init?.();
    expect(store.count()).toBe(0);
    expect(store.count('')).toBe(0);
    expect(store.count('/page')).toBe(0);
  });

  test('count() includes a viewer synchronously right after increment, and stays right once written out', async () => {
    const store = await create();
    await store.init?.();
    store.increment('');
    expect(store.count('')).toBe(1);
    store.increment('');
    store.increment('');
    store.decrement('');
    expect(store.count('')).toBe(2);
    expect(store.count()).toBe(2);
    await settle();
    expect(store.count('')).toBe(2);
    expect(store.count()).toBe(2);
  });

  test('keeps rooms apart; count() without a room is the sum over rooms', async () => {
    const store = await create();
    await store.init?.();
    store.increment('/a');
    store.increment('/a');
    store.increment('/b');
    expect([store.count('/a'), store.count('/b'), store.count('/c'), store.count()]).toEqual([2, 1, 0, 3]);
    await settle();
    expect([store.count('/a'), store.count('/b'), store.count('/c'), store.count()]).toEqual([2, 1, 0, 3]);
    store.decrement('/a');
    expect([store.count('/a'), store.count('/b'), store.count()]).toEqual([1, 1, 2]);
  });

  test('a decrement in an empty room leaves every count unchanged', async () => {
    const store = await create();
    await store.init?.();
    store.increment('/a');
    store.decrement('/b');
    store.decrement('');
    expect([store.count('/a'), store.count('/b'), store.count('')]).toEqual([1, 0, 0]);
  });

  test('emits change with the room on increment and on decrement', async () => {
    const store = await create();
    await store.init?.();
    const changes: string[] = [];
    store.events.on('change', ({ room }) => changes.push(room));
    store.increment('/a');
    store.decrement('/a');
    expect(changes).toEqual(['/a', '/a']);
  });

  test('increment and decrement do not throw when a change listener throws; the error is reported', async () => {
    const store = await create();
    await store.init?.();
    const errors: Error[] = [];
    const seen: number[] = [];
    store.events.on('error', (error) => errors.push(error));
    store.events.on('change', () => {
      throw new Error('broken listener');
    });
    store.events.on('change', () => seen.push(store.count('')));
    expect(() => store.increment('')).not.toThrow();
    expect(() => store.decrement('')).not.toThrow();
    expect(seen).toEqual([1, 0]);
    expect(errors.map((error) => error.message)).toEqual(['broken listener', 'broken listener']);
  });

  test('close() retracts this instance: every count is 0 and change is emitted for each room', async () => {
    const store = await create();
    await store.init?.();
    store.increment('/a');
    store.increment('/b');
    await settle();
    const changes: string[] = [];
    store.events.on('change', ({ room }) => changes.push(room));
    await store.close?.();
    expect([store.count(), store.count('/a'), store.count('/b')]).toEqual([0, 0, 0]);
    expect(changes.sort()).toEqual(['/a', '/b']);
  });

  test('as the store of the middleware: a viewer is counted and shown, and uncounted when it leaves', async () => {
    const store = await create();
    const { url, counter } = await startCounterApp({ store });
    const viewer = await Viewer.open(url);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
    expect(counter.count).toBe(1);
    viewer.close();
    await eventually(() => counter.count === 0, 'the count back at 0');
    await settle();
    expect(store.count()).toBe(0);
  });
});
