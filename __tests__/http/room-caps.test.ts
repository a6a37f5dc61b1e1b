// The caps on rooms: maxRooms for everyone (a new room past it is refused, an emptied one makes
// way), maxRoomsPerIp so a few addresses cannot take them all, and nothing left behind.
import type { Request } from 'express';
import { startCounterApp } from '../helpers/counter-app.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { RawConnection } from '../helpers/raw-connection.js';
import { eventually } from '../helpers/time.js';
import { Viewer } from '../helpers/viewer.js';
import { showsCount } from '../../support/png.js';

const byPage = (req: Request) => req.query.page as string | undefined;

describe('maxRooms', () => {
  test('a new room past the cap gets 429 with Retry-After and is not counted; existing rooms and the default room still join', async () => {
    const app = await startCounterApp({ room: byPage, maxRooms: 2 });
    const first = await Viewer.open(app.url, { page: 'one' });
    await Viewer.open(app.url, { page: 'two' });
    await eventually(() => app.counter.count === 2, 'two rooms counted');

    const refused = await Viewer.open(app.url, { page: 'three' });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('10');
    expect(await refused.text()).toMatch(/Too many pages/);
    expect(app.counter.countIn('three')).toBe(0);

    const again = await Viewer.open(app.url, { page: 'one' });
    const inDefault = await Viewer.open(app.url);
    await again.waitForLastFrame((png) => showsCount(png, 2), 'room one to show 2');
    await inDefault.waitForLastFrame((png) => showsCount(png, 1), 'the default room to show 1');
    expect(app.counter.stats()).toMatchObject({ rooms: 3, connections: 4 });

    // A room that empties makes way for a new one.
    first.close();
    again.close();
    await eventually(() => app.counter.countIn('one') === 0, 'room one empty');
    const third = await Viewer.open(app.url, { page: 'three' });
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
  const openFrom = async (app: CounterApp, localAddress: string, page: string): Promise<number> => {
    const connection = await RawConnection.open(app.url, { path: `/online.png?page=${page}`, localAddress });
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
