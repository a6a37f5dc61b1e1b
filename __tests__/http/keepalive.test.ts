// Keep-alive: while the count stays the same the latest frame is re-sent every keepAliveMs
// (and nothing at all with it off), at its own pace, from one shared timer.
import { startCounterApp } from '../helpers/counter-app.js';
import { trackCounterTimers } from '../helpers/counter-timers.js';
import { RawConnection } from '../helpers/raw-connection.js';
import { eventually, sleep } from '../helpers/time.js';
import { Viewer } from '../helpers/viewer.js';
import { showsCount } from '../../support/png.js';

/** A viewer whose stream shows 1 (its own view). */
async function viewerShowingOne(url: string): Promise<RawConnection> {
  const viewer = await RawConnection.open(url);
  expect((await viewer.waitForHead()).status).toBe(200);
  await viewer.waitForLastPart((png) => showsCount(png, 1), 'a frame showing 1');
  return viewer;
}

test('the latest frame is re-sent every keepAliveMs: identical parts keep arriving, the count unchanged', async () => {
  const { url, counter } = await startCounterApp({ keepAliveMs: 150, heartbeatMs: 0 });
  const viewer = await viewerShowingOne(url);
  const changes: number[] = [];
  counter.events.on('change', ({ count }) => changes.push(count));
  const first = viewer.lastPart!;
  const before = viewer.parts.length;
  await sleep(2000);
  const resent = viewer.parts.slice(before);
  // About 13 in 2 s; paced by the keep-alive, not flooding.
  expect(resent.length).toBeGreaterThanOrEqual(5);
  expect(resent.length).toBeLessThanOrEqual(20);
  for (const png of resent) expect(png.equals(first)).toBe(true);
  expect(counter.count).toBe(1);
  expect(changes).toEqual([]);
});

test('with keepAliveMs 0 and heartbeatMs 0 nothing more arrives after the first frame while the count stays the same', async () => {
  const { url, counter } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0 });
  const viewer = await viewerShowingOne(url);
  // Let any change from the join settle and be broadcast first.
  await sleep(300);
  const bytes = viewer.data.length;
  const frames = viewer.parts.length;
  await sleep(1000);
  expect(viewer.data.length).toBe(bytes);
  expect(viewer.parts.length).toBe(frames);
  expect(viewer.closed).toBe(false);
  expect(counter.count).toBe(1);
});

// Was a bug (lib/middleware.ts ticked at `heartbeatMs || 250`, fixed in 0ac4a66): a keep-alive
// shorter than the heartbeat was sent at the heartbeat's pace.
test('the keep-alive keeps its own pace when the heartbeat is slower', async () => {
  const { url } = await startCounterApp({ keepAliveMs: 100, heartbeatMs: 2000 });
  const viewer = await Viewer.open(url);
  await viewer.waitForFrames(1, 10_000);
  const before = viewer.frames.length;
  await sleep(1500);
  // At 100 ms, about 15 re-sends; at the heartbeat's 2 s, none or one.
  expect(viewer.frames.length - before).toBeGreaterThanOrEqual(5);
  viewer.close();
});

/** Ref'd timers that keep the process alive, as Node reports them. */
function refTimeouts(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

test('one shared timer drives every stream: 20 streams hold no more timers than 1, and none is left after close', async () => {
  const timers = trackCounterTimers();
  try {
    const baselineRef = refTimeouts();
    const { url, counter } = await startCounterApp({ heartbeatMs: 50, keepAliveMs: 150 });
    const one = await viewerShowingOne(url);
    await sleep(300);
    const withOne = timers.live.size;
    const refWithOne = refTimeouts();
    // The shared tick exists: a timer the counter created is running while a stream is open.
    expect(withOne).toBeGreaterThanOrEqual(1);

    const more = await Promise.all(Array.from({ length: 19 }, () => RawConnection.open(url)));
    await Promise.all(more.map((viewer) => viewer.waitForHead()));
    await eventually(() => counter.count === 20, 'count 20');
    // Every stream is being ticked (keep-alives arrive on all of them).
    await eventually(() => more.every((viewer) => viewer.parts.length >= 3), 'keep-alives on every stream', 10_000);
    await sleep(300);
    expect(timers.live.size).toBeLessThanOrEqual(withOne);
    expect(refTimeouts()).toBeLessThanOrEqual(refWithOne + 1);

    for (const viewer of [one, ...more]) viewer.destroy();
    await eventually(() => counter.count === 0, 'count 0');
    // With no stream open the shared timer stops by itself, before any close().
    await eventually(() => timers.live.size === 0, `no counter timer with no stream open, have ${[...timers.live.values()]}`, 2000);
    await counter.close();
    await sleep(100);
    expect([...timers.live.values()]).toEqual([]);
    // Nothing that keeps the process alive is left (a short-lived timer elsewhere may come and go).
    await eventually(() => refTimeouts() <= baselineRef, `ref'd timers back to ${baselineRef}, have ${refTimeouts()}`, 2000);
  } finally {
    timers.stop();
  }
});
