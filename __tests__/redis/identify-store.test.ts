import IORedis from 'ioredis';
import { MemoryCountStore } from '../../lib/index.js';
import type { CountStore } from '../../lib/index.js';
import { eventually, sleep } from '../helpers/time.js';
import { startTestRedis } from '../helpers/redis-server.js';
import { connectStore, scriptCalls, uniquePrefix } from '../helpers/redis-store.js';
import type { TestRedis } from '../helpers/redis-server.js';

// The CountStore contract for viewers (lib/types/store.ts, "Viewers"): streams of one viewer in
// one room count once, on each store; and across instances sharing Redis.

let redis: TestRedis;
let inspector: IORedis;
beforeAll(async () => {
  redis = await startTestRedis();
  inspector = new IORedis(redis.url, { retryStrategy: () => 100 });
  inspector.on('error', () => undefined);
});
afterAll(async () => {
  inspector?.disconnect();
  await redis?.close();
});
const settle = () => sleep(150);

const factories: { name: string; create(): Promise<CountStore> }[] = [
  { name: 'MemoryCountStore', create: async () => new MemoryCountStore() },
  { name: 'RedisCountStore (ioredis)', create: async () => (await connectStore('ioredis', redis, { prefix: uniquePrefix() })).store },
  { name: 'RedisCountStore (node-redis)', create: async () => (await connectStore('node-redis', redis, { prefix: uniquePrefix() })).store },
];

describe.each(factories)('$name', ({ create }) => {
  test('says it counts viewers', async () => {
    expect((await create()).countsViewers).toBe(true);
  });

  test('three streams of one viewer count once; the viewer leaves the count with its last stream', async () => {
    const store = await create();
    await store.init?.();
    for (let i = 0; i < 3; i++) store.increment('/a', 'viewer-1');
    expect([store.count('/a'), store.count()]).toEqual([1, 1]);
    await settle();
    expect([store.count('/a'), store.count()]).toEqual([1, 1]);
    store.decrement('/a', 'viewer-1');
    store.decrement('/a', 'viewer-1');
    expect([store.count('/a'), store.count()]).toEqual([1, 1]);
    store.decrement('/a', 'viewer-1');
    expect([store.count('/a'), store.count()]).toEqual([0, 0]);
    await settle();
    expect([store.count('/a'), store.count()]).toEqual([0, 0]);
  });

  test('streams without a viewer each count, beside distinct viewers; a viewer counts once in each of its rooms', async () => {
    const store = await create();
    await store.init?.();
    store.increment('/a');
    store.increment('/a');
    store.increment('/a', 'x');
    store.increment('/a', 'x');
    store.increment('/a', 'y');
    store.increment('/b', 'x');
    const expected = () => expect([store.count('/a'), store.count('/b'), store.count()]).toEqual([4, 1, 5]);
    expected();
    await settle();
    expected();
    expect(new Set(store.rooms!())).toEqual(new Set(['/a', '/b']));
  });

  test('a decrement naming a viewer with no stream, or the wrong room, changes nothing', async () => {
    const store = await create();
    await store.init?.();
    store.increment('/a', 'x');
    store.increment('/a');
    store.decrement('/a', 'y');
    store.decrement('/b', 'x');
    store.decrement('/a', 'x');
    store.decrement('/a', 'x');
    expect([store.count('/a'), store.count()]).toEqual([1, 1]);
    // The anonymous stream is still there: a viewer's decrement is not an anonymous one.
    store.decrement('/a');
    expect([store.count('/a'), store.count()]).toEqual([0, 0]);
  });

  test('change is emitted for the first and the last stream of a viewer, with the room', async () => {
    const store = await create();
    await store.init?.();
    const seen: string[] = [];
    store.events.on('change', ({ room }) => seen.push(`${room}=${store.count(room)}`));
    store.increment('/a', 'x');
    store.increment('/a', 'x');
    store.decrement('/a', 'x');
    store.decrement('/a', 'x');
    expect(seen[0]).toBe('/a=1');
    expect(seen[seen.length - 1]).toBe('/a=0');
    expect(seen.every((entry) => entry === '/a=1' || entry === '/a=0')).toBe(true);
  });

  test('rooms() lists the rooms with a count, and none once every stream has left', async () => {
    const store = await create();
    await store.init?.();
    store.increment('/a', 'x');
    store.increment('/b');
    expect(new Set(store.rooms!())).toEqual(new Set(['/a', '/b']));
    store.decrement('/a', 'x');
    store.decrement('/b');
    expect([...store.rooms!()]).toEqual([]);
  });

  test('close() forgets viewers: every count is 0', async () => {
    const store = await create();
    await store.init?.();
    store.increment('/a', 'x');
    store.increment('/a', 'y');
    await settle();
    await store.close?.();
    expect([store.count('/a'), store.count()]).toEqual([0, 0]);
  });
});

describe('viewers across two RedisCountStore instances', () => {
  async function pair(options: { heartbeatMs?: number; ttlMs?: number } = {}) {
    const prefix = uniquePrefix();
    const a = await connectStore('ioredis', redis, { prefix, instanceId: 'alpha', ...options });
    const b = await connectStore('node-redis', redis, { prefix, instanceId: 'beta', ...options });
    await Promise.all([a.store.init(), b.store.init()]);
    return { prefix, a, b };
  }
  const both = (a: CountStore, b: CountStore, room: string, n: number, total = n) =>
    eventually(
      () => [a, b].every((store) => store.count(room) === n && store.count() === total),
      `both stores at ${room}=${n}, total ${total} (now ${a.count(room)}/${a.count()} and ${b.count(room)}/${b.count()})`,
    );

  test('one viewer with streams on both instances counts once on each; it leaves the count when its last stream anywhere ends', async () => {
    const { a, b } = await pair();
    a.store.increment('/p', 'x');
    a.store.increment('/p', 'x');
    b.store.increment('/p', 'x');
    a.store.increment('/p');
    b.store.increment('/p', 'y');
    // x once, y once, one anonymous stream.
    await both(a.store, b.store, '/p', 3);

    a.store.decrement('/p', 'x');
    a.store.decrement('/p', 'x');
    // b still holds x: a knows it at once, without waiting for Redis.
    expect(a.store.count('/p')).toBe(3);
    await settle();
    await both(a.store, b.store, '/p', 3);

    b.store.decrement('/p', 'x');
    await both(a.store, b.store, '/p', 2);
    b.store.decrement('/p', 'y');
    a.store.decrement('/p');
    await both(a.store, b.store, '/p', 0);
  });

  test('a viewer in two rooms on two instances counts once in each room', async () => {
    const { a, b } = await pair();
    a.store.increment('/one', 'x');
    b.store.increment('/two', 'x');
    b.store.increment('/one', 'x');
    await eventually(
      () => [a.store, b.store].every((store) => store.count('/one') === 1 && store.count('/two') === 1 && store.count() === 2),
      'both stores at /one=1, /two=1, total 2',
    );
    expect(new Set(a.store.rooms())).toEqual(new Set(['/one', '/two']));
  });

  test('keys: one set of viewer members per instance under the hash tag, and per room who holds each viewer; expiring; gone after close', async () => {
    const { prefix, a, b } = await pair();
    a.store.increment('/p', 'x');
    a.store.increment('', 'y');
    b.store.increment('/p', 'x');
    await eventually(() => b.store.count() === 2 && a.store.count() === 2, 'both to see 2');
    const keys = (await inspector.keys(`{${prefix}}*`)).sort();
    expect(keys).toEqual(
      ['instances', 'meta', 'owners', 'room:', 'room:/p', 'totals', 'viewers:alpha', 'viewers:beta'].map((name) => `{${prefix}}:${name}`),
    );
    expect((await inspector.smembers(`{${prefix}}:viewers:alpha`)).sort()).toEqual(['1:x/p', '1:y']);
    // Who holds x in /p, and how many: the total counts x once.
    expect(await inspector.hgetall(`{${prefix}}:room:/p`)).toEqual({ 'h5:alphax': '1', 'h4:betax': '1', rx: '2' });
    expect(await inspector.hgetall(`{${prefix}}:totals`)).toEqual({ '': '1', '/p': '1' });
    for (const key of keys) expect(await inspector.pttl(key)).toBeGreaterThan(0);
    await a.close();
    await b.close();
    expect(await inspector.keys(`{${prefix}}*`)).toEqual([]);
  });

  test('viewers and rooms with any characters survive the trip (lengths are counted in bytes)', async () => {
    const { a, b } = await pair();
    const viewer = 'ünïcødé:viewer:1';
    const room = '/seite/ä:1';
    a.store.increment(room, viewer);
    b.store.increment(room, viewer);
    // Each counts its own viewer at once; wait for both to have read the other's.
    await settle();
    await both(a.store, b.store, room, 1);
    a.store.decrement(room, viewer);
    expect(a.store.count(room)).toBe(1);
    await settle();
    await both(a.store, b.store, room, 1);
  });

  test('200 distinct viewers joining at once cost a handful of script calls, and only the changes are sent after the first call', async () => {
    const { a, b } = await pair({ heartbeatMs: 60_000, ttlMs: 180_000 });
    const before = scriptCalls(a.commands);
    for (let i = 0; i < 200; i++) a.store.increment('/p', `viewer-${i}`);
    await both(a.store, b.store, '/p', 200);
    await settle();
    expect(scriptCalls(a.commands) - before).toBeLessThanOrEqual(3);

    const sentBefore = a.commands.length;
    a.store.decrement('/p', 'viewer-7');
    await both(a.store, b.store, '/p', 199);
    const call = a.commands.slice(sentBefore).find(([name]) => name === 'EVALSHA')!;
    // One removal travels, not the 199 who stay.
    expect(call.filter((arg) => arg.startsWith('8:viewer-'))).toEqual(['8:viewer-7/p']);
    expect(call.length).toBeLessThan(30);
  });

  test('after Redis loses its data (restart), every instance writes its whole viewer set again and the counts heal', async () => {
    const { a, b } = await pair({ heartbeatMs: 200, ttlMs: 1000 });
    a.store.increment('/p', 'x');
    a.store.increment('/p', 'y');
    b.store.increment('/p', 'y');
    b.store.increment('/p', 'z');
    await both(a.store, b.store, '/p', 3);
    await redis.stop();
    await redis.start();
    // Nothing changes locally: only the restart makes the stores send their whole sets again.
    const members = async (id: string) => (await inspector.smembers(`{${a.store.prefix}}:viewers:${id}`).catch(() => [])).sort().join(' ');
    const deadline = Date.now() + 10_000;
    while ((await members('alpha')) !== '1:x/p 1:y/p' || (await members('beta')) !== '1:y/p 1:z/p') {
      if (Date.now() > deadline) throw new Error(`the viewer sets were not written again: ${await members('alpha')} | ${await members('beta')}`);
      await settle();
    }
    await both(a.store, b.store, '/p', 3);
    b.store.decrement('/p', 'z');
    await both(a.store, b.store, '/p', 2);
  }, 30_000);
});
