// Per-page rooms (the `room` option): own counts and frames, names checked, frames shared.
// The caps on rooms (maxRooms, maxRoomsPerIp): room-caps.test.ts.
import request from 'supertest';
import type { Request } from 'express';
import { OptionsError, userCounterMiddleware } from '../../lib/index.js';
import type { Options } from '../../lib/index.js';
import { startCounterApp } from '../helpers/counter-app.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { startTestRedis } from '../helpers/redis-server.js';
import { connectStore, uniquePrefix } from '../helpers/redis-store.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { eventually, sleep } from '../helpers/time.js';
import { Viewer } from '../helpers/viewer.js';
import { showsCount } from '../../support/png.js';

let redis: TestRedis | undefined;
afterAll(() => redis?.close());

const byPage = (req: Request) => req.query.page as string | undefined;

async function json(app: CounterApp, query = ''): Promise<unknown> {
  const response = await request(app.url).get(`/online.json${query}`);
  expect(response.status).toBe(200);
  return JSON.parse(response.text);
}

test('each room counts and shows its own viewers; the total, locals and the handle agree', async () => {
  const app = await startCounterApp(
    { room: byPage },
    { after: (express) => express.get('/locals', (req, res) => res.json({ total: req.app.locals.userCount })) },
  );
  const onA = [await Viewer.open(app.url, { page: '/a' }), await Viewer.open(app.url, { page: '/a' })];
  const onB = await Viewer.open(app.url, { page: '/b' });
  const inDefault = await Viewer.open(app.url);
  for (const viewer of onA) await viewer.waitForLastFrame((png) => showsCount(png, 2), 'room /a to show 2');
  await onB.waitForLastFrame((png) => showsCount(png, 1), 'room /b to show 1');
  await inDefault.waitForLastFrame((png) => showsCount(png, 1), 'the default room to show 1');

  expect([app.counter.countIn('/a'), app.counter.countIn('/b'), app.counter.countIn(''), app.counter.count]).toEqual([2, 1, 1, 4]);
  expect(app.counter.rooms()).toEqual(new Map([['/a', 2], ['/b', 1], ['', 1]]));
  expect(await json(app, '?page=%2Fa')).toEqual({ count: 2, total: 4, room: '/a' });
  expect(await json(app, '?page=%2Fnobody')).toEqual({ count: 0, total: 4, room: '/nobody' });
  expect(await json(app)).toEqual({ count: 1, total: 4, room: '' });
  expect(JSON.parse((await request(app.url).get('/locals')).text)).toEqual({ total: 4 });
  expect(app.counter.stats()).toMatchObject({ connections: 4, viewers: 4, rooms: 3 });

  onA[0].close();
  await onA[1].waitForLastFrame((png) => showsCount(png, 1), 'room /a to show 1');
  // The other rooms' viewers were sent nothing new.
  expect(showsCount(onB.lastFrame!, 1)).toBe(true);
  await eventually(() => app.counter.count === 3, 'the total at 3');

  for (const viewer of [onA[1], onB, inDefault]) viewer.close();
  await eventually(() => app.counter.count === 0, 'the total at 0');
  expect(app.counter.rooms()).toEqual(new Map());
  expect(app.counter.stats()).toMatchObject({ connections: 0, viewers: 0, rooms: 0, broadcasters: 1 });
});

test('a viewer in one room never receives a frame of another room', async () => {
  const app = await startCounterApp({ room: byPage, keepAliveMs: 0, heartbeatMs: 0 });
  const watcher = await Viewer.open(app.url, { page: 'quiet' });
  await watcher.waitForLastFrame((png) => showsCount(png, 1), 'the quiet room to show 1');
  const busy = await Promise.all(Array.from({ length: 5 }, () => Viewer.open(app.url, { page: 'busy' })));
  await busy[0].waitForLastFrame((png) => showsCount(png, 5), 'the busy room to show 5');
  expect(watcher.frames.every((png) => showsCount(png, 1))).toBe(true);
});

test('with no room option the JSON stays {"count": total}', async () => {
  const app = await startCounterApp();
  await Viewer.open(app.url);
  await eventually(() => app.counter.count === 1, 'the count at 1');
  expect((await request(app.url).get('/online.json?page=x')).text).toBe('{"count":1}');
});

describe('room names', () => {
  test.each([
    ['longer than 128 characters', `?page=${'x'.repeat(129)}`, /at most 128/],
    ['with a control character', '?page=a%01b', /printable/],
    ['with a newline', '?page=a%0Ab', /printable/],
    ['with a bidi override', '?page=%E2%80%AEevil', /printable/],
    ['given twice (an array)', '?page=a&page=b', /one piece of text/],
  ])('a name %s gets 400 with a short reason, for the stream and the JSON, and is not counted', async (_what, query, reason) => {
    const app = await startCounterApp({ room: byPage });
    const stream = await Viewer.open(app.url, { path: `/online.png${query}` });
    expect(stream.status).toBe(400);
    expect(stream.headers['content-type']).toMatch(/^text\/plain/);
    const text = await stream.text();
    expect(text).toMatch(reason);
    expect(text.length).toBeLessThan(120);
    const answer = await request(app.url).get(`/online.json${query}`);
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(reason);
    expect(app.counter.count).toBe(0);
    expect(app.counter.stats().rooms).toBe(0);
  });

  test('a name of exactly 128 printable characters, Unicode included, is a room', async () => {
    const app = await startCounterApp({ room: byPage });
    const name = `/страница-${'é'.repeat(118)}`;
    expect(name).toHaveLength(128);
    const viewer = await Viewer.open(app.url, { page: name });
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'the room to show 1');
    expect(app.counter.countIn(name)).toBe(1);
  });

  test('a room function that throws passes the error to Express (500), counting nothing', async () => {
    const app = await startCounterApp({
      room: () => {
        throw new Error('no room for you');
      },
    });
    expect((await Viewer.open(app.url)).status).toBe(500);
    expect((await request(app.url).get('/online.json')).status).toBe(500);
    expect(app.counter.count).toBe(0);
  });
});

describe('frames shared between rooms', () => {
  test('with a text of the count alone, a new room costs no render for counts already drawn', async () => {
    const app = await startCounterApp({ room: byPage });
    const first = await Viewer.open(app.url, { page: 'one' });
    await first.waitForLastFrame((png) => showsCount(png, 1), 'room one to show 1');
    // 0 and 1 drawn at start, 2 ahead once 1 has settled.
    await eventually(() => app.counter.stats().renders >= 3, 'the neighbours drawn', 10_000);
    const renders = app.counter.stats().renders;
    for (const name of ['two', 'three', 'four']) {
      const viewer = await Viewer.open(app.url, { page: name });
      await viewer.waitForLastFrame((png) => showsCount(png, 1), `room ${name} to show 1`);
    }
    await sleep(200);
    expect(app.counter.stats().renders).toBe(renders);
  });

  test('with a text that takes the room, each room draws its own frames', async () => {
    const app = await startCounterApp({ room: byPage, text: (count, { room }) => `${room} ${count}` });
    const renders = app.counter.stats().renders;
    for (const name of ['two', 'three']) {
      const viewer = await Viewer.open(app.url, { page: name });
      await viewer.waitForFrames(1);
    }
    await eventually(() => app.counter.stats().renders >= renders + 2, 'a render for each room');
  });
});

describe('options', () => {
  test.each([
    [{ room: 'page' }, /`room` must be a function of the request/],
    [{ maxRooms: 0 }, /`maxRooms` must be a whole number, 1 or more/],
    [{ maxRooms: 2.5 }, /`maxRooms` must be a whole number/],
    [{ maxRoomsPerIp: 0 }, /`maxRoomsPerIp` must be a whole number, 1 or more/],
    [{ ipv6PrefixLength: 16 }, /`ipv6PrefixLength` must be a whole number, from 32 to 128/],
    [{ identify: 'ip' }, /`identify` must be a function of the request/],
    [{ staticFallback: 'yes' }, /`staticFallback` must be true, false or a function/],
    [{ rooms: () => '' }, /Did you mean `room`\?/],
  ])('%p is an OptionsError saying what to write', (options, message) => {
    expect(() => userCounterMiddleware(options as Options)).toThrow(OptionsError);
    expect(() => userCounterMiddleware(options as Options)).toThrow(message);
  });
});

test('rooms across two instances sharing Redis: per-room totals agree in handles, frames and JSON', async () => {
  redis ??= await startTestRedis();
  const prefix = uniquePrefix();
  const a = await startCounterApp({ room: byPage, store: (await connectStore('ioredis', redis, { prefix })).store });
  const b = await startCounterApp({ room: byPage, store: (await connectStore('node-redis', redis, { prefix })).store });
  const onA = await Viewer.open(a.url, { page: '/x' });
  const onB = [await Viewer.open(b.url, { page: '/x' }), await Viewer.open(b.url, { page: '/y' })];
  await eventually(
    () => [a, b].every((app) => app.counter.countIn('/x') === 2 && app.counter.countIn('/y') === 1 && app.counter.count === 3),
    'both instances at /x=2, /y=1, total 3',
  );
  await onA.waitForLastFrame((png) => showsCount(png, 2), 'the viewer on a to show /x=2');
  await onB[0].waitForLastFrame((png) => showsCount(png, 2), 'the viewer on b to show /x=2');
  await onB[1].waitForLastFrame((png) => showsCount(png, 1), 'the viewer on b to show /y=1');
  expect(await json(a, '?page=%2Fy')).toEqual({ count: 1, total: 3, room: '/y' });
  // a has no stream in /y, yet knows it from Redis.
  expect(a.counter.rooms()).toEqual(new Map([['/x', 2], ['/y', 1]]));
  expect(a.counter.stats().rooms).toBe(1);

  onB[0].close();
  await onA.waitForLastFrame((png) => showsCount(png, 1), 'the viewer on a to show /x=1');
  onA.close();
  onB[1].close();
  await eventually(() => [a, b].every((app) => app.counter.count === 0), 'both instances at 0');
});
