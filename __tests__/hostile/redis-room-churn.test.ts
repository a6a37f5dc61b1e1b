import { eventually } from '../helpers/time.js';
import { connectStore, uniquePrefix } from '../helpers/redis-store.js';
import { useTestRedis } from '../helpers/redis-suite.js';

/**
 * Room names come from the page (`?page=`, the `room` option): a client may invent a new one
 * for every stream. Against Redis, 100 000 distinct names over time, each held by a stream
 * long enough for heartbeats to check it, leave Redis as it was once the streams have left:
 * what Redis keeps is bounded by the rooms live now, never by every name ever seen.
 * (Streams come and go through the store itself: 100 000 over HTTP would take minutes;
 * http/ and redis/ tests show a stream's room reaching the store.)
 */

const suite = useTestRedis();

const NAMES = 100_000;
/** Rooms live at once: about `maxRooms` (1000) of a few instances. */
const LIVE = 2_500;

async function usedMemory(): Promise<number> {
  const info = await suite.inspector.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)![1]);
}

test(`${NAMES} room names streamed and left over time: Redis's keys and memory back to their baseline`, async () => {
  const prefix = uniquePrefix();
  const key = (name: string) => `{${prefix}}:${name}`;
  const { store } = await connectStore('ioredis', suite.redis, { prefix, instanceId: 'churn', heartbeatMs: 100, ttlMs: 2000 });
  await store.init();
  // The baseline: this instance's own records, with a room held and left once.
  store.increment('/warm-up');
  await eventually(async () => (await suite.inspector.hget(key('totals'), '/warm-up')) === '1', 'the warm-up room in Redis', 10_000);
  store.decrement('/warm-up');
  await eventually(async () => (await suite.inspector.exists(key('totals'))) === 0, 'the warm-up room gone', 10_000);
  const baselineKeys = (await suite.inspector.keys(`{${prefix}}*`)).sort();
  const baselineMemory = await usedMemory();

  for (let from = 0; from < NAMES; from += LIVE) {
    const rooms = Array.from({ length: LIVE }, (_, i) => `/page-${from + i}-${Math.random().toString(36).slice(2, 8)}`);
    for (const [i, room] of rooms.entries()) store.increment(room, i % 3 === 0 ? `viewer-${i}` : undefined);
    // Held until heartbeats have checked some of them (the checks leave records of their own).
    await eventually(async () => (await suite.inspector.hlen(key('checked'))) > 0, 'rooms checked by a heartbeat', 20_000);
    for (const [i, room] of rooms.entries()) store.decrement(room, i % 3 === 0 ? `viewer-${i}` : undefined);
    await eventually(async () => (await suite.inspector.exists(key('totals'))) === 0, `rooms ${from}.. gone from Redis`, 20_000);
  }

  await eventually(async () => (await suite.inspector.hlen(key('checked'))) === 0, 'no room checked any more', 10_000);
  expect((await suite.inspector.keys(`{${prefix}}*`)).sort()).toEqual(baselineKeys);
  // A room's records are a few hundred bytes: 100 000 of them would be tens of megabytes.
  expect(await usedMemory()).toBeLessThan(baselineMemory + 512 * 1024);
}, 300_000);
