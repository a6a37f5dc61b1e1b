// Coalescing and rate limiting under load, with fake timers: which counts reach the bus, and how
// many renders it takes, as the windows grow with the audience (lib/frames/broadcast-pacing.ts).
// Speed is the benchmark's job; this is about what is sent.
import { coalescingWindowMs, stormWindowMs } from '../../lib/frames/broadcast-pacing.js';
import { startBroadcaster, subscribeIdle } from '../helpers/broadcaster-rig.js';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('a burst of 1000 joins within a few ms gives a handful of renders and broadcasts, the last showing 1000', async () => {
  const { broadcaster, set, broadcast, rendered } = startBroadcaster();
  await jest.advanceTimersByTimeAsync(100);
  const rendersBefore = rendered.length;
  for (let n = 1; n <= 1000; n++) {
    set(n);
    if (n % 100 === 0) await jest.advanceTimersByTimeAsync(1);
  }
  await jest.advanceTimersByTimeAsync(2000);
  expect(broadcast.at(-1)).toBe(1000);
  expect(broadcast.length).toBeLessThanOrEqual(3);
  expect(rendered.length - rendersBefore).toBeLessThanOrEqual(6);
  broadcaster.close();
});

test('with 10 000 streams open, continuous churn is broadcast every 10 s (the storm window grows with the audience)', async () => {
  const { broadcaster, set, broadcast } = startBroadcaster();
  subscribeIdle(broadcaster, 10_000);
  await jest.advanceTimersByTimeAsync(2000);
  const before = broadcast.length;
  const times: number[] = [];
  broadcaster.bus.on('frame', () => times.push(Date.now()));
  // A join every 5 ms for 30 s.
  for (let i = 1; i <= 6000; i++) {
    set(i);
    await jest.advanceTimersByTimeAsync(5);
  }
  await jest.advanceTimersByTimeAsync(2000);
  const during = broadcast.length - before;
  expect(during).toBeGreaterThanOrEqual(4);
  expect(during).toBeLessThanOrEqual(5);
  expect(stormWindowMs(10_000)).toBe(10_000);
  for (let i = 1; i < times.length - 1; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(10_000);
  expect(broadcast.at(-1)).toBe(6000);
  broadcaster.close();
});

test('with 10 000 streams open, the count after a storm shows within the coalescing window of the last broadcast', async () => {
  const { broadcaster, set, broadcast } = startBroadcaster();
  subscribeIdle(broadcaster, 10_000);
  await jest.advanceTimersByTimeAsync(2000);
  const times: number[] = [];
  broadcaster.bus.on('frame', () => times.push(Date.now()));
  // A storm of 18.3 s: it stops just after the second broadcast of the storm (the first comes
  // a storm window after the start-up broadcast, 2 s before the storm).
  for (let i = 1; i <= 3660; i++) {
    set(i);
    await jest.advanceTimersByTimeAsync(5);
  }
  const lastJoin = Date.now();
  await jest.advanceTimersByTimeAsync(3000);
  expect(broadcast.at(-1)).toBe(3660);
  expect(coalescingWindowMs(10_000)).toBe(700);
  // During the storm, broadcasts 10 s apart; the last one 700 ms after the one before
  // (not a whole storm window), and within a second of the last join.
  expect(times).toHaveLength(3);
  expect(times[1] - times[0]).toBeGreaterThanOrEqual(10_000);
  expect(times[2] - times[1]).toBeGreaterThanOrEqual(700);
  expect(times[2] - times[1]).toBeLessThanOrEqual(700 + 10);
  expect(times[2] - lastJoin).toBeLessThan(1000);
  broadcaster.close();
});

test('a join storm of 1000 over 2 s: about one broadcast a second while it lasts, and the final count at once when it stops', async () => {
  const { broadcaster, set, broadcast } = startBroadcaster();
  subscribeIdle(broadcaster, 100);
  await jest.advanceTimersByTimeAsync(2000);
  const before = broadcast.length;
  const times: number[] = [];
  broadcaster.bus.on('frame', () => times.push(Date.now()));
  const start = Date.now();
  for (let n = 1; n <= 1000; n++) {
    set(n);
    await jest.advanceTimersByTimeAsync(2);
  }
  const lastJoin = Date.now();
  await jest.advanceTimersByTimeAsync(1000);
  expect(broadcast.at(-1)).toBe(1000);
  // One early (the change held 60 ms), one a second while joins keep coming, one after they stop.
  expect(broadcast.length - before).toBeLessThanOrEqual(4);
  for (let i = 1; i < times.length - 1; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(1000);
  expect(times[0] - start).toBeLessThanOrEqual(100);
  expect(times.at(-1)! - lastJoin).toBeLessThanOrEqual(100);
  broadcaster.close();
});
