import { eventually } from '../helpers/time.js';
import { connectStore, uniquePrefix } from '../helpers/redis-store.js';
import { useTestRedis } from '../helpers/redis-suite.js';
import type { ConnectedStore } from '../helpers/redis-store.js';

// Many instances, many random joins and leaves: every instance ends at the truth, and so does Redis.

const suite = useTestRedis();

const INSTANCES = 24;
const ROOMS = Array.from({ length: 12 }, (_, i) => `/page-${i}`);

/** A seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

/** The truth: per instance, room and viewer (`''`: no viewer), how many streams. */
class Truth {
  readonly streams = Array.from({ length: INSTANCES }, () => new Map<string, number>());
  count(room: string): number {
    let anonymous = 0;
    const viewers = new Set<string>();
    for (const held of this.streams) {
      for (const [key, n] of held) {
        const [r, viewer] = JSON.parse(key) as [string, string];
        if (r !== room || n === 0) continue;
        if (viewer === '') anonymous += n;
        else viewers.add(viewer);
      }
    }
    return anonymous + viewers.size;
  }
}

describe.each([
  ['without identify', false],
  ['with identify (viewers shared across instances)', true],
])('10 000 random joins and leaves across 24 instances, %s', (_, identify) => {
  test('every instance counts every room exactly, and Redis holds the same totals', async () => {
    const prefix = uniquePrefix();
    const stores: ConnectedStore[] = [];
    for (let i = 0; i < INSTANCES; i++) {
      stores.push(await connectStore(i % 2 ? 'node-redis' : 'ioredis', suite.redis, { prefix, heartbeatMs: 60_000, ttlMs: 180_000 }));
    }
    await Promise.all(stores.map(({ store }) => store.init()));
    const next = random(identify ? 7 : 3);
    const truth = new Truth();
    for (let op = 0; op < 10_000; op++) {
      const i = Math.floor(next() * INSTANCES);
      const held = truth.streams[i];
      const room = ROOMS[Math.floor(next() * ROOMS.length)];
      const viewer = identify ? `viewer-${Math.floor(next() * 40)}` : '';
      const key = JSON.stringify([room, viewer]);
      const n = held.get(key) ?? 0;
      if (n > 0 && next() < 0.5) {
        stores[i].store.decrement(room, viewer || undefined);
        held.set(key, n - 1);
      } else {
        stores[i].store.increment(room, viewer || undefined);
        held.set(key, n + 1);
      }
      // Let calls and hints interleave with the changes.
      if (op % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
    }
    const expected = ROOMS.map((room) => truth.count(room));
    const total = expected.reduce((sum, n) => sum + n, 0);
    const wrong = () =>
      stores.flatMap(({ store }, i) => ROOMS.filter((room, r) => store.count(room) !== expected[r]).map((room) => `#${i} ${room}=${store.count(room)}`));
    await eventually(() => wrong().length === 0, 'every instance at the truth', 15_000).catch(async (error: Error) => {
      throw new Error(`${error.message}; wrong: ${wrong().slice(0, 5).join(', ')}; expected ${expected.join(',')}; redis ${JSON.stringify(await suite.inspector.hgetall(`{${prefix}}:totals`))}; #wrong ${wrong().length}`);
    });
    expect(stores.map(({ store }) => store.count())).toEqual(stores.map(() => total));
    const totals = await suite.inspector.hgetall(`{${prefix}}:totals`);
    expect(ROOMS.map((room) => Number(totals[room] ?? 0))).toEqual(expected);
    expect(Number(await suite.inspector.hget(`{${prefix}}:meta`, 'sum'))).toBe(total);
  }, 120_000);
});
