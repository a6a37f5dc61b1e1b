import http from 'node:http';
import request from 'supertest';
import type { Request } from 'express';
import { OptionsError, userCounterMiddleware } from '../../lib/index.js';
import type { Options } from '../../lib/index.js';
import { closeAllApps, eventually, startCounterApp } from '../helpers/counter-app.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { closeAllStores, connectStore, startTestRedis, uniquePrefix } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { Viewer, closeAllViewers, tracked } from '../helpers/viewer.js';
import { showsCount } from '../../support/png.js';
import { RawConnection, imageRequest } from '../helpers/raw-http.js';

// Per-page rooms (the `room` option): own counts and frames, names checked, their number capped.

let redis: TestRedis | undefined;
afterEach(async () => {
  closeAllViewers();
  await closeAllApps();
  await closeAllStores();
});
afterAll(() => redis?.close());

const byPage = (req: Request) => req.query.page as string | undefined;

async function open(app: CounterApp, page?: string): Promise<Viewer> {
  const path = page === undefined ? '/online.png' : `/online.png?page=${encodeURIComponent(page)}`;
  const viewer = await Viewer.open(app.url, { path });
  return tracked(viewer);
}

async function json(app: CounterApp, query = ''): Promise<unknown> {
  const response = await request(app.url).get(`/online.json${query}`);
  expect(response.status).toBe(200);
  return JSON.parse(response.text);
}

/** A raw GET of the stream, read until the server answers or the socket closes. */
function get(app: CounterApp, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${app.url}${path}`, { agent: false, headers: { Referer: `${app.url}/` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      // A refusal ends; a stream would not: take what came and hang up.
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      res.on('end', done);
      if (res.statusCode === 200) setTimeout(() => (req.destroy(), done()), 200);
    });
    req.on('error', reject);
  });
}

test('each room counts and shows its own viewers; the total, locals and the handle agree', async () => {
  const app = await startCounterApp(
    { room: byPage },
    { after: (express) => express.get('/locals', (req, res) => res.json({ total: req.app.locals.userCount })) },
  );
  const onA = [await open(app, '/a'), await open(app, '/a')];
  const onB = await open(app, '/b');
  const inDefault = await open(app);
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
  const watcher = await open(app, 'quiet');
  await watcher.waitForLastFrame((png) => showsCount(png, 1), 'the quiet room to show 1');
  const busy = await Promise.all(Array.from({ length: 5 }, () => open(app, 'busy')));
  await busy[0].waitForLastFrame((png) => showsCount(png, 5), 'the busy room to show 5');
  expect(watcher.frames.every((png) => showsCount(png, 1))).toBe(true);
});

test('with no room option the JSON stays {"count": total}', async () => {
  const app = await startCounterApp();
  await open(app);
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
    const stream = await get(app, `/online.png${query}`);
    expect(stream.status).toBe(400);
    expect(stream.headers['content-type']).toMatch(/^text\/plain/);
    expect(stream.body).toMatch(reason);
    expect(stream.body.length).toBeLessThan(120);
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
    const viewer = await open(app, name);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'the room to show 1');
    expect(app.counter.countIn(name)).toBe(1);
  });

  test('a room function that throws passes the error to Express (500), counting nothing', async () => {
    const app = await startCounterApp({
      room: () => {
        throw new Error('no room for you');
      },
    });
    expect((await get(app, '/online.png')).status).toBe(500);
    expect((await request(app.url).get('/online.json')).status).toBe(500);
    expect(app.counter.count).toBe(0);
  });
});

describe('frames shared between rooms', () => {
  test('with a text of the count alone, a new room costs no render for counts already drawn', async () => {
    const app = await startCounterApp({ room: byPage });
    const first = await open(app, 'one');
    await first.waitForLastFrame((png) => showsCount(png, 1), 'room one to show 1');
    // 0 and 1 drawn at start, 2 ahead once 1 has settled.
    await eventually(() => app.counter.stats().renders >= 3, 'the neighbours drawn', 10_000);
    const renders = app.counter.stats().renders;
    for (const name of ['two', 'three', 'four']) {
      const viewer = await open(app, name);
      await viewer.waitForLastFrame((png) => showsCount(png, 1), `room ${name} to show 1`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(app.counter.stats().renders).toBe(renders);
  });

  test('with a text that takes the room, each room draws its own frames', async () => {
    const app = await startCounterApp({ room: byPage, text: (count, { room }) => `${room} ${count}` });
    const renders = app.counter.stats().renders;
    for (const name of ['two', 'three']) {
      const viewer = await open(app, name);
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

describe('maxRooms', () => {
  test('a new room past the cap gets 429 with Retry-After and is not counted; existing rooms and the default room still join', async () => {
    const app = await startCounterApp({ room: byPage, maxRooms: 2 });
    const first = await open(app, 'one');
    await open(app, 'two');
    await eventually(() => app.counter.count === 2, 'two rooms counted');

    const refused = await get(app, '/online.png?page=three');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('10');
    expect(refused.body).toMatch(/Too many pages/);
    expect(app.counter.countIn('three')).toBe(0);

    const again = await open(app, 'one');
    const inDefault = await open(app);
    await again.waitForLastFrame((png) => showsCount(png, 2), 'room one to show 2');
    await inDefault.waitForLastFrame((png) => showsCount(png, 1), 'the default room to show 1');
    expect(app.counter.stats()).toMatchObject({ rooms: 3, connections: 4 });

    // A room that empties makes way for a new one.
    first.close();
    again.close();
    await eventually(() => app.counter.countIn('one') === 0, 'room one empty');
    const third = await open(app, 'three');
    expect(third.status).toBe(200);
    await third.waitForLastFrame((png) => showsCount(png, 1), 'room three to show 1');
  });

  test('3000 random room names leave nothing behind: rooms and broadcasters back to the start, heap flat', async () => {
    const app = await startCounterApp({ room: byPage, maxRooms: 100, maxRoomsPerIp: 1000 });
    const gc = exposedGc();
    const baseline = app.counter.stats();
    const heapBefore = heapAfterGc(gc);
    let refusedPastCap = 0;
    for (let round = 0; round < 30; round++) {
      // 100 rooms fill the cap; 10 more are refused; all then leave.
      const names = Array.from({ length: 110 }, () => `/r/${Math.random().toString(36).slice(2)}`);
      const opened = await Promise.all(names.map((name) => Viewer.open(app.url, { path: `/online.png?page=${encodeURIComponent(name)}` })));
      refusedPastCap += opened.filter((viewer) => viewer.status === 429).length;
      expect(opened.filter((viewer) => viewer.status === 200)).toHaveLength(100);
      expect(app.counter.stats().rooms).toBe(100);
      for (const viewer of opened) viewer.close();
      await eventually(() => app.counter.stats().connections === 0, 'every stream of the round closed');
    }
    expect(refusedPastCap).toBe(300);
    await eventually(() => app.counter.count === 0, 'the count back at 0');
    const after = app.counter.stats();
    expect([after.rooms, after.broadcasters, after.viewers]).toEqual([0, baseline.broadcasters, 0]);
    expect(app.counter.rooms()).toEqual(new Map());
    const grown = heapAfterGc(gc) - heapBefore;
    // 3000 rooms kept would be tens of megabytes (a broadcaster and its frames each).
    expect(grown).toBeLessThan(8 * 1024 * 1024);
  }, 120_000);
});

describe('maxRoomsPerIp', () => {
  const held: RawConnection[] = [];
  afterEach(() => {
    for (const connection of held.splice(0)) connection.destroy();
  });
  const openFrom = async (app: CounterApp, localAddress: string, page: string): Promise<number> => {
    const connection = await RawConnection.send(app.url, imageRequest(app.url, { path: `/online.png?page=${page}` }), { localAddress });
    held.push(connection);
    return (await connection.waitForHead(10_000)).status;
  };

  test('a few addresses holding idle streams in many rooms cannot fill maxRooms for everyone', async () => {
    const app = await startCounterApp({ room: byPage, maxRooms: 40, maxRoomsPerIp: 3 });
    // 10 addresses, 10 rooms each: each holds 3 rooms; the rest of its streams are refused.
    for (let address = 2; address <= 11; address++) {
      const statuses: number[] = [];
      for (let page = 0; page < 10; page++) statuses.push(await openFrom(app, `127.0.0.${address}`, `a${address}-p${page}`));
      expect(statuses).toEqual([200, 200, 200, ...Array(7).fill(429)]);
      // More streams in a room it holds, and in the default room, are fine.
      expect(await openFrom(app, `127.0.0.${address}`, `a${address}-p0`)).toBe(200);
    }
    expect(app.counter.stats().rooms).toBe(30);
    // Another reader's page still opens.
    expect(await openFrom(app, '127.0.0.99', 'a-real-page')).toBe(200);
  });
});

test('rooms across two instances sharing Redis: per-room totals agree in handles, frames and JSON', async () => {
  redis ??= await startTestRedis();
  const prefix = uniquePrefix();
  const a = await startCounterApp({ room: byPage, store: (await connectStore('ioredis', redis, { prefix })).store });
  const b = await startCounterApp({ room: byPage, store: (await connectStore('node-redis', redis, { prefix })).store });
  const onA = await open(a, '/x');
  const onB = [await open(b, '/x'), await open(b, '/y')];
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

/** `global.gc`, made available without a command-line flag. */
function exposedGc(): () => void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('node:v8').setFlagsFromString('--expose-gc');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node:vm').runInNewContext('gc') as () => void;
}

function heapAfterGc(gc: () => void): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}
