import { FrameBroadcaster, STREAMS_PER_SLICE, coalescingWindowMs, stormWindowMs } from '../../lib/frame-broadcaster.js';
import type { BusSubscriber } from '../../lib/frame-broadcaster.js';
import { MultipartFormat } from '../../lib/multipart-format.js';
import type { Frame } from '../../lib/multipart-format.js';
import { PalettePngEncoder } from '../../lib/png-encoder.js';
import { StreamTicker } from '../../lib/stream-ticker.js';
import { FrameCache } from '../../lib/frame-cache.js';

// Coalescing and rate limiting, with fake timers: which counts reach the bus, and how many
// renders it takes. Speed is the benchmark's job; this is about what is sent.

const A_PNG = new PalettePngEncoder(2, 2, new Uint8Array([0, 0, 0, 0])).encodeSync(new Uint8Array(4));

function setup(initial = 0) {
  let count = initial;
  const rendered: number[] = [];
  const broadcast: number[] = [];
  const errors: Error[] = [];
  const broadcaster = new FrameBroadcaster({
    readCount: () => count,
    renderer: {
      render: async (n) => {
        rendered.push(n);
        return A_PNG;
      },
    },
    format: new MultipartFormat(),
    frames: new FrameCache().shelf('1'),
    ticker: ticker(),
    report: (error) => errors.push(error),
  });
  broadcaster.bus.on('frame', (frame: Frame) => broadcast.push(frame.count));
  const set = (n: number) => {
    count = n;
    broadcaster.countChanged();
  };
  return { broadcaster, set, rendered, broadcast, errors };
}

/** Subscribe `n` idle streams (the window grows with them). */
function subscribe(broadcaster: FrameBroadcaster, n: number): void {
  const idle: BusSubscriber = { send: () => undefined, tick: () => false };
  for (let i = 0; i < n; i++) broadcaster.subscribe({ ...idle });
}

/** Every ticker a test made, stopped after it: a stream left subscribed must not keep a timer running. */
const tickers: StreamTicker[] = [];
function ticker(): StreamTicker {
  const made = new StreamTicker(1000);
  tickers.push(made);
  return made;
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => {
  for (const made of tickers.splice(0)) made.stop();
  jest.useRealTimers();
});

test('a change is broadcast once it has held for the settle time, then its neighbours are pre-rendered', async () => {
  const { broadcaster, set, broadcast, rendered } = setup();
  await jest.advanceTimersByTimeAsync(10);
  set(1);
  await jest.advanceTimersByTimeAsync(30);
  expect(broadcast).toEqual([]);
  await jest.advanceTimersByTimeAsync(100);
  expect(broadcast).toEqual([1]);
  expect(new Set(rendered)).toEqual(new Set([0, 1, 2]));
  expect(broadcaster.firstFrame(2)?.count).toBe(2);
  broadcaster.close();
});

test('a reload (one leaves, one joins a few ms apart) shows no change to the others', async () => {
  const { broadcaster, set, broadcast } = setup(2);
  await jest.advanceTimersByTimeAsync(200);
  expect(broadcast).toEqual([2]);
  set(3);
  await jest.advanceTimersByTimeAsync(15);
  set(2);
  await jest.advanceTimersByTimeAsync(500);
  expect(broadcast).toEqual([2]);
  set(1);
  await jest.advanceTimersByTimeAsync(20);
  set(2);
  await jest.advanceTimersByTimeAsync(500);
  expect(broadcast).toEqual([2]);
  broadcaster.close();
});

test('a burst of 1000 joins within a few ms gives a handful of renders and broadcasts, the last showing 1000', async () => {
  const { broadcaster, set, broadcast, rendered } = setup();
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

test('with 10 000 streams open, continuous churn is broadcast every 3 s (the storm window grows with the audience)', async () => {
  const { broadcaster, set, broadcast } = setup();
  subscribe(broadcaster, 10_000);
  await jest.advanceTimersByTimeAsync(2000);
  const before = broadcast.length;
  const times: number[] = [];
  broadcaster.bus.on('frame', () => times.push(Date.now()));
  // A join every 5 ms for 10 s.
  for (let i = 1; i <= 2000; i++) {
    set(i);
    await jest.advanceTimersByTimeAsync(5);
  }
  await jest.advanceTimersByTimeAsync(2000);
  const during = broadcast.length - before;
  expect(during).toBeGreaterThanOrEqual(4);
  expect(during).toBeLessThanOrEqual(5);
  expect(stormWindowMs(10_000)).toBe(3000);
  for (let i = 1; i < times.length - 1; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(3000);
  expect(broadcast.at(-1)).toBe(2000);
  broadcaster.close();
});

test('with 10 000 streams open, the count after a storm shows within the coalescing window of the last broadcast', async () => {
  const { broadcaster, set, broadcast } = setup();
  subscribe(broadcaster, 10_000);
  await jest.advanceTimersByTimeAsync(2000);
  const times: number[] = [];
  broadcaster.bus.on('frame', () => times.push(Date.now()));
  for (let i = 1; i <= 900; i++) {
    set(i);
    await jest.advanceTimersByTimeAsync(5);
  }
  const lastJoin = Date.now();
  await jest.advanceTimersByTimeAsync(3000);
  expect(broadcast.at(-1)).toBe(900);
  expect(coalescingWindowMs(10_000)).toBe(700);
  // During the 4.5 s storm, broadcasts 3 s apart; the last one 700 ms after the one before
  // (not a whole storm window), and within a second of the last join.
  expect(times).toHaveLength(3);
  expect(times[1] - times[0]).toBeGreaterThanOrEqual(3000);
  expect(times[2] - times[1]).toBeGreaterThanOrEqual(700);
  expect(times[2] - times[1]).toBeLessThanOrEqual(700 + 10);
  expect(times[2] - lastJoin).toBeLessThan(1000);
  broadcaster.close();
});

test('a join storm of 1000 over 2 s: about one broadcast a second while it lasts, and the final count at once when it stops', async () => {
  const { broadcaster, set, broadcast } = setup();
  subscribe(broadcaster, 100);
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

test('with a small audience, consecutive changes are each shown within the settle time', async () => {
  const { broadcaster, set, broadcast } = setup();
  subscribe(broadcaster, 10);
  await jest.advanceTimersByTimeAsync(100);
  for (const n of [1, 2, 3]) {
    set(n);
    await jest.advanceTimersByTimeAsync(100);
    expect(broadcast.at(-1)).toBe(n);
  }
  broadcaster.close();
});

test('a render that fails is reported and not retried until the count changes again', async () => {
  let count = 0;
  let calls = 0;
  const errors: Error[] = [];
  const broadcaster = new FrameBroadcaster({
    readCount: () => count,
    renderer: {
      render: async (n) => {
        calls += 1;
        if (n === 1) throw new Error('cannot draw 1');
        return A_PNG;
      },
    },
    format: new MultipartFormat(),
    frames: new FrameCache().shelf('1'),
    ticker: ticker(),
    report: (error) => errors.push(error),
  });
  await jest.advanceTimersByTimeAsync(100);
  count = 1;
  broadcaster.countChanged();
  await jest.advanceTimersByTimeAsync(5000);
  expect(errors.map((error) => error.message)).toEqual(['cannot draw 1']);
  expect(calls).toBeLessThanOrEqual(4);
  broadcaster.close();
});

test('close() stops rendering; the shared tick stops with its last stream', async () => {
  const { broadcaster, set, broadcast } = setup();
  const streams: BusSubscriber[] = Array.from({ length: 3 }, () => ({ send: () => undefined, tick: () => false }));
  for (const stream of streams) broadcaster.subscribe(stream);
  broadcaster.close();
  set(5);
  await jest.advanceTimersByTimeAsync(5000);
  expect(broadcast).toEqual([]);
  for (const stream of streams) broadcaster.unsubscribe(stream);
  await jest.advanceTimersByTimeAsync(10);
  expect(jest.getTimerCount()).toBe(0);
});

test('a burst of leaves is dropped from the bus in one pass, leaving exactly the streams still open', async () => {
  jest.useRealTimers();
  const { broadcaster } = setup();
  const recorder = broadcaster.bus.all.get('frame')!.slice();
  const streams: BusSubscriber[] = Array.from({ length: 1000 }, () => ({ send: () => undefined, tick: () => false }));
  for (const stream of streams) broadcaster.subscribe(stream);
  for (const stream of streams.slice(1)) broadcaster.unsubscribe(stream);
  await new Promise((resolve) => setImmediate(resolve));
  expect(broadcaster.bus.all.get('frame')).toEqual([...recorder, streams[0].send]);
  broadcaster.close();
});

test('a broadcast to a large audience reaches every stream once, a slice at a time, past a stream that throws', async () => {
  jest.useRealTimers();
  const { broadcaster, set, errors } = setup();
  const n = STREAMS_PER_SLICE * 2 + 7;
  const got: number[][] = Array.from({ length: n }, () => []);
  const turns: number[] = [];
  let turn = 0;
  const streams: BusSubscriber[] = got.map((frames, i) => ({
    send: (frame: Frame) => {
      if (i === 3) throw new Error('broken stream');
      frames.push(frame.count);
      turns.push(turn);
    },
    tick: () => false,
  }));
  for (const stream of streams) broadcaster.subscribe(stream);
  // Counts event-loop turns while the broadcast runs: slices are separated by them.
  const spin = setInterval(() => (turn += 1), 0);
  set(1);
  await until(() => got.at(-1)!.length > 0);
  clearInterval(spin);
  expect(got.filter((frames, i) => i !== 3 && frames.join() !== '1')).toEqual([]);
  expect(errors.map((error) => error.message)).toEqual(['broken stream']);
  expect(new Set(turns).size).toBeGreaterThanOrEqual(2);
  broadcaster.close();
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
}
