import { createHash } from 'node:crypto';
import IORedis from 'ioredis';
import request from 'supertest';
import type { Request } from 'express';
import { quietLogger, startCounterApp } from '../helpers/counter-app.js';
import { MockStore } from '../helpers/mock-store.js';
import { eventually, sleep } from '../helpers/time.js';
import { startTestRedis } from '../helpers/redis-server.js';
import { connectStore, uniquePrefix } from '../helpers/redis-store.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { Viewer } from '../helpers/viewer.js';
import { showsCount } from '../../support/png.js';

// Unique viewers (the `identify` option): the streams of one identity count once per room.

let redis: TestRedis | undefined;
afterAll(() => redis?.close());

const byHeader = (req: Request) => req.headers['x-viewer'] as string | undefined;
const byPage = (req: Request) => req.query.page as string | undefined;

/** The options of a stream request made as `identity` (the header `byHeader` reads). */
const as = (identity: string) => ({ extra: { 'X-Viewer': identity } });

test('three connections of one identity are one viewer; it leaves the count with its last connection', async () => {
  const app = await startCounterApp({ identify: byHeader });
  const tabs = [await Viewer.open(app.url, as('alice')), await Viewer.open(app.url, as('alice')), await Viewer.open(app.url, as('alice'))];
  await eventually(() => app.counter.stats().connections === 3, 'three connections');
  for (const tab of tabs) await tab.waitForLastFrame((png) => showsCount(png, 1), 'every tab to show 1');
  expect(app.counter.count).toBe(1);
  expect((await request(app.url).get('/online.json')).text).toBe('{"count":1}');
  expect(app.counter.stats()).toMatchObject({ connections: 3, viewers: 1, count: 1 });

  const bob = await Viewer.open(app.url, as('bob'));
  await bob.waitForLastFrame((png) => showsCount(png, 2), 'bob to see 2');
  await tabs[0].waitForLastFrame((png) => showsCount(png, 2), "alice's tab to see 2");
  expect(app.counter.stats()).toMatchObject({ connections: 4, viewers: 2, count: 2 });

  tabs[0].close();
  tabs[1].close();
  await eventually(() => app.counter.stats().connections === 2, 'two connections left');
  // Alice still has a tab open: still two viewers.
  expect(app.counter.count).toBe(2);
  await sleep(200);
  expect(showsCount(bob.lastFrame!, 2)).toBe(true);

  tabs[2].close();
  await bob.waitForLastFrame((png) => showsCount(png, 1), 'bob to see 1 once alice has gone');
  bob.close();
  await eventually(() => app.counter.count === 0, 'the count at 0');
  expect(app.counter.stats()).toMatchObject({ connections: 0, viewers: 0 });
});

test('streams without an identity each count, beside identified ones', async () => {
  const app = await startCounterApp({ identify: byHeader });
  await Viewer.open(app.url);
  await Viewer.open(app.url);
  await Viewer.open(app.url, as('carol'));
  const last = await Viewer.open(app.url, as('carol'));
  await last.waitForLastFrame((png) => showsCount(png, 3), 'a frame showing 3');
  expect(app.counter.stats()).toMatchObject({ connections: 4, viewers: 3, count: 3 });
});

test('one identity in two rooms is a viewer of each', async () => {
  const app = await startCounterApp({ identify: byHeader, room: byPage });
  const inA = await Viewer.open(app.url, { ...as('dave'), page: 'a' });
  await Viewer.open(app.url, { ...as('dave'), page: 'a' });
  const inB = await Viewer.open(app.url, { ...as('dave'), page: 'b' });
  await inA.waitForLastFrame((png) => showsCount(png, 1), 'room a to show 1');
  await inB.waitForLastFrame((png) => showsCount(png, 1), 'room b to show 1');
  expect([app.counter.countIn('a'), app.counter.countIn('b'), app.counter.count]).toEqual([1, 1, 2]);
  expect(app.counter.stats()).toMatchObject({ connections: 3, viewers: 2, rooms: 2 });
});

test('the store is given a SHA-256 digest, never the identity itself', async () => {
  const store = new MockStore({ countsViewers: true });
  const app = await startCounterApp({ identify: byHeader, store });
  const viewer = await Viewer.open(app.url, as('erin@example.com'));
  await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
  viewer.close();
  await eventually(() => store.viewers.length === 2, 'an increment and a decrement');
  const digest = createHash('sha256').update('express-user-counter viewer\0erin@example.com').digest('base64url');
  expect(store.viewers).toEqual([digest, digest]);
});

test('an identify function that throws passes the error to Express (500), counting nothing', async () => {
  const app = await startCounterApp({
    identify: () => {
      throw new Error('who are you');
    },
  });
  const viewer = await Viewer.open(app.url);
  expect(viewer.status).toBe(500);
  expect(app.counter.count).toBe(0);
});

test('identify with a store that does not count viewers warns once at start-up', async () => {
  const logger = quietLogger();
  await startCounterApp({ identify: byHeader, store: new MockStore(), logger });
  expect(logger.warn).toHaveBeenCalledTimes(1);
  expect(String(logger.warn.mock.calls[0][0])).toMatch(/`identify`.*countsViewers/);
});

describe('across two instances sharing Redis', () => {
  test('one identity with tabs on both instances counts once on both; the count drops when its last tab anywhere closes', async () => {
    redis ??= await startTestRedis();
    const prefix = uniquePrefix();
    const a = await startCounterApp({ identify: byHeader, store: (await connectStore('ioredis', redis, { prefix })).store });
    const b = await startCounterApp({ identify: byHeader, store: (await connectStore('node-redis', redis, { prefix })).store });
    const onA = [await Viewer.open(a.url, as('frank')), await Viewer.open(a.url, as('frank'))];
    const onB = await Viewer.open(b.url, as('frank'));
    const other = await Viewer.open(b.url, as('grace'));
    await eventually(() => [a, b].every((app) => app.counter.count === 2), 'both instances at 2 viewers');
    await onA[0].waitForLastFrame((png) => showsCount(png, 2), 'a tab on a to show 2');
    await onB.waitForLastFrame((png) => showsCount(png, 2), 'the tab on b to show 2');
    expect([a.counter.stats().connections, a.counter.stats().viewers, b.counter.stats().connections, b.counter.stats().viewers]).toEqual([2, 1, 2, 2]);

    for (const tab of onA) tab.close();
    await eventually(() => a.counter.stats().connections === 0, "a's tabs closed");
    await sleep(300);
    // frank still has a tab on b.
    expect([a.counter.count, b.counter.count]).toEqual([2, 2]);

    onB.close();
    await other.waitForLastFrame((png) => showsCount(png, 1), 'grace to see 1');
    await eventually(() => [a, b].every((app) => app.counter.count === 1), 'both instances at 1');
    other.close();
    await eventually(() => [a, b].every((app) => app.counter.count === 0), 'both instances at 0');
  });

  test('Redis holds digests only: the identity itself is in no key or member', async () => {
    redis ??= await startTestRedis();
    const prefix = uniquePrefix();
    const a = await startCounterApp({ identify: byHeader, room: byPage, store: (await connectStore('ioredis', redis, { prefix })).store });
    await Viewer.open(a.url, { ...as('heidi-secret-session'), page: 'p' });
    const inspector = new IORedis(redis.url);
    try {
      let dump = '';
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        const keys = await inspector.keys(`{${prefix}}*`);
        const members = await Promise.all(keys.filter((key) => key.includes(':viewers:')).map((key) => inspector.smembers(key)));
        dump = [...keys, ...members.flat()].join('\n');
        if (members.flat().length > 0) break;
        await sleep(50);
      }
      const digest = createHash('sha256').update('express-user-counter viewer\0heidi-secret-session').digest('base64url');
      expect(dump).toContain(`43:${digest}p`);
      expect(dump).not.toContain('heidi');
    } finally {
      inspector.disconnect();
    }
  });
});
