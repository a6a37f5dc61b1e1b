import { randomFillSync } from 'node:crypto';
import { PNG } from 'pngjs';
import type { Request } from 'express';
import type { RoomCounts } from '../../lib/index.js';
import { startCounterApp } from '../helpers/counter-app.js';
import { MockStore } from '../helpers/mock-store.js';
import { eventually, sleep } from '../helpers/time.js';
import { expectedFrame, showsCount } from '../../support/png.js';
import { Viewer } from '../helpers/viewer.js';

// Events with rooms, and counter.stats() against the traffic the viewers actually received.

const byPage = (req: Request) => req.query.page as string | undefined;

const total = (list: Viewer[], of: (viewer: Viewer) => number) => list.reduce((sum, viewer) => sum + of(viewer), 0);

test('connect, disconnect and change carry the room and its count beside the total', async () => {
  const { url, counter } = await startCounterApp({ room: byPage });
  const seen: string[] = [];
  const log = (name: string) => ({ count, room, roomCount }: RoomCounts) => seen.push(`${name} ${room}=${roomCount}/${count}`);
  counter.events.on('connect', log('connect'));
  counter.events.on('disconnect', log('disconnect'));
  counter.events.on('change', log('change'));

  const a = await Viewer.open(url, { page: 'a' });
  await eventually(() => seen.includes('connect a=1/1'), 'the connect in a');
  const b = await Viewer.open(url, { page: 'b' });
  await eventually(() => seen.includes('connect b=1/2'), 'the connect in b');
  b.close();
  await eventually(() => seen.includes('disconnect b=0/1'), 'the disconnect in b');
  a.close();
  await eventually(() => seen.includes('disconnect a=0/0'), 'the disconnect in a');
  expect(seen).toEqual([
    'change a=1/1', 'connect a=1/1',
    'change b=1/2', 'connect b=1/2',
    'change b=0/1', 'disconnect b=0/1',
    'change a=0/0', 'disconnect a=0/0',
  ]);
});

test('stats count connections, viewers and rooms, and the frames and bytes the viewers received', async () => {
  // No keep-alive re-sends or heartbeat bytes: every frame sent is a first frame or a broadcast.
  const { url, counter } = await startCounterApp({ room: byPage, keepAliveMs: 0, heartbeatMs: 0 });
  expect(counter.stats()).toMatchObject({ count: 0, connections: 0, viewers: 0, rooms: 0, framesSent: 0, framesDropped: 0, bytesSent: 0 });

  const inA = [await Viewer.open(url, { page: 'a' }), await Viewer.open(url, { page: 'a' })];
  const inB = await Viewer.open(url, { page: 'b' });
  await inA[0].waitForLastFrame((png) => showsCount(png, 2), 'room a to show 2');
  await inA[1].waitForLastFrame((png) => showsCount(png, 2), 'room a to show 2');
  await inB.waitForLastFrame((png) => showsCount(png, 1), 'room b to show 1');
  const all = [...inA, inB];
  await eventually(() => counter.stats().framesSent === total(all, (viewer) => viewer.frames.length), 'framesSent to match the frames received');
  const stats = counter.stats();
  expect(stats).toMatchObject({ count: 3, connections: 3, viewers: 3, rooms: 2, framesDropped: 0 });
  // At least a first frame each and the broadcast of 2 in room a.
  expect(stats.framesSent).toBeGreaterThanOrEqual(4);
  // Bytes: every body byte the viewers got, plus each response's head (a few hundred bytes).
  const body = total(all, (viewer) => viewer.body.length);
  expect(stats.bytesSent).toBeGreaterThan(body);
  expect(stats.bytesSent - body).toBeLessThan(3 * 500);

  inA[0].close();
  await inA[1].waitForLastFrame((png) => showsCount(png, 1), 'room a to show 1');
  await eventually(() => counter.stats().connections === 2, 'two connections');
  await eventually(() => counter.stats().framesSent === total(all, (viewer) => viewer.frames.length), 'framesSent to match after a leave');
  expect(counter.stats()).toMatchObject({ count: 2, viewers: 2, rooms: 2 });

  for (const viewer of all) viewer.close();
  await eventually(() => counter.stats().connections === 0, 'no connection');
  expect(counter.stats()).toMatchObject({ count: 0, viewers: 0, rooms: 0 });
  // What was sent stays counted.
  expect(counter.stats().bytesSent).toBeGreaterThanOrEqual(stats.bytesSent);
});

test('storeReachable is true with the memory store, and follows the reachable of a store that has a server', async () => {
  const memory = await startCounterApp();
  expect(memory.counter.stats().storeReachable).toBe(true);

  // A store with a server to reach (as RedisCountStore during an outage).
  const store = new MockStore({ reachable: true });
  const { counter } = await startCounterApp({ store });
  expect(counter.stats().storeReachable).toBe(true);
  store.reachable = false;
  expect(counter.stats().storeReachable).toBe(false);
  store.reachable = true;
  expect(counter.stats().storeReachable).toBe(true);
});

test('renders counts every call of the renderer', async () => {
  let calls = 0;
  const { url, counter } = await startCounterApp({
    render: (count) => {
      calls += 1;
      return expectedFrame(count);
    },
  });
  const first = await Viewer.open(url);
  await first.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
  await Viewer.open(url);
  await first.waitForLastFrame((png) => showsCount(png, 2), 'a frame showing 2');
  await sleep(200);
  expect(calls).toBeGreaterThanOrEqual(2);
  expect(counter.stats().renders).toBe(calls);
});

describe('frames dropped by backpressure', () => {
  const SIDE = 600;
  const frames = new Map<number, Buffer>();
  /** About 1.4 MB of incompressible PNG per count, so a viewer that does not read blocks at once. */
  const noise = (count: number): Buffer => {
    let png = frames.get(count);
    if (!png) {
      const image = new PNG({ width: SIDE, height: SIDE });
      randomFillSync(image.data);
      png = PNG.sync.write(image, { deflateLevel: 0, filterType: 0 });
      frames.set(count, png);
    }
    return png;
  };
  beforeAll(() => {
    for (let count = 0; count <= 14; count++) noise(count);
  });

  test('a paused viewer misses frames, counted as dropped; every frame counted as sent reached a viewer', async () => {
    const { url, counter } = await startCounterApp({ render: noise, keepAliveMs: 0, heartbeatMs: 0 });
    const reference = await Viewer.open(url);
    await reference.waitForLastFrame((png) => png.equals(noise(1)), 'the reference viewer to show 1', 10_000);
    const paused = await Viewer.open(url);
    paused.response.pause();
    await reference.waitForLastFrame((png) => png.equals(noise(2)), 'the reference viewer to show 2', 10_000);

    // Each new (reading) viewer raises the count: a new 1.4 MB frame for everyone.
    const extras: Viewer[] = [];
    for (let count = 3; count <= 12; count++) {
      extras.push(await Viewer.open(url));
      await reference.waitForLastFrame((png) => png.equals(noise(count)), `the reference viewer to show ${count}`, 10_000);
    }
    expect(counter.stats().framesDropped).toBeGreaterThan(0);

    paused.response.resume();
    await paused.waitForLastFrame((png) => png.equals(noise(12)), 'the resumed viewer to show the newest frame', 15_000);
    const everyone = [reference, paused, ...extras];
    await eventually(
      () => counter.stats().framesSent === total(everyone, (viewer) => viewer.frames.length),
      `framesSent (${counter.stats().framesSent}) to equal the frames received (${total(everyone, (viewer) => viewer.frames.length)})`,
      10_000,
    );
    const { framesSent, framesDropped } = counter.stats();
    // The paused viewer got far fewer than the reference; the difference was dropped.
    expect(paused.frames.length).toBeLessThan(reference.frames.length);
    expect(framesDropped).toBeGreaterThanOrEqual(1);
    expect(framesDropped).toBeLessThanOrEqual(reference.frames.length - paused.frames.length);
    expect(framesSent).toBe(total(everyone, (viewer) => viewer.frames.length));
  }, 60_000);
});
