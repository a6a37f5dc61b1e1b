// The FrameBroadcaster, with fake timers: a change reaches the bus once it has settled, its
// neighbours are drawn ahead, failures are reported, and the bus reaches every stream once.
// How the windows grow with the audience: broadcast-pacing.test.ts.
import { STREAMS_PER_SLICE } from '../../lib/frames/frame-broadcaster.js';
import type { BusSubscriber } from '../../lib/frames/frame-broadcaster.js';
import type { Frame } from '../../lib/stream/multipart-format.js';
import { startBroadcaster, subscribeIdle } from '../helpers/broadcaster-rig.js';
import { eventually } from '../helpers/time.js';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('a change is broadcast once it has held for the settle time, then its neighbours are pre-rendered', async () => {
  const { broadcaster, set, broadcast, rendered } = startBroadcaster();
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
  const { broadcaster, set, broadcast } = startBroadcaster(2);
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

test('with a small audience, consecutive changes are each shown within the settle time', async () => {
  const { broadcaster, set, broadcast } = startBroadcaster();
  subscribeIdle(broadcaster, 10);
  await jest.advanceTimersByTimeAsync(100);
  for (const n of [1, 2, 3]) {
    set(n);
    await jest.advanceTimersByTimeAsync(100);
    expect(broadcast.at(-1)).toBe(n);
  }
  broadcaster.close();
});

test('a render that fails is reported and not retried until the count changes again', async () => {
  const { broadcaster, set, rendered, errors } = startBroadcaster(0, { failing: (n) => n === 1 });
  await jest.advanceTimersByTimeAsync(100);
  set(1);
  await jest.advanceTimersByTimeAsync(5000);
  expect(errors.map((error) => error.message)).toEqual(['cannot draw 1']);
  expect(rendered.length).toBeLessThanOrEqual(4);
  broadcaster.close();
});

test('close() stops rendering; the shared tick stops with its last stream', async () => {
  const { broadcaster, set, broadcast } = startBroadcaster();
  const streams: BusSubscriber[] = Array.from({ length: 3 }, () => ({ send: () => undefined, tick: () => Infinity }));
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
  const { broadcaster } = startBroadcaster();
  const recorder = broadcaster.bus.all.get('frame')!.slice();
  const streams: BusSubscriber[] = Array.from({ length: 1000 }, () => ({ send: () => undefined, tick: () => Infinity }));
  for (const stream of streams) broadcaster.subscribe(stream);
  for (const stream of streams.slice(1)) broadcaster.unsubscribe(stream);
  await new Promise((resolve) => setImmediate(resolve));
  expect(broadcaster.bus.all.get('frame')).toEqual([...recorder, streams[0].send]);
  broadcaster.close();
});

test('a broadcast to a large audience reaches every stream once, a slice at a time, past a stream that throws', async () => {
  jest.useRealTimers();
  const { broadcaster, set, errors } = startBroadcaster();
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
    tick: () => Infinity,
  }));
  for (const stream of streams) broadcaster.subscribe(stream);
  // Counts event-loop turns while the broadcast runs: slices are separated by them. An
  // immediate that queues itself again runs once per turn (a 1 ms interval need not fire
  // between two slices on a fast machine).
  let spinning = true;
  const spin = (): void => {
    turn += 1;
    if (spinning) setImmediate(spin);
  };
  setImmediate(spin);
  set(1);
  await eventually(() => got.at(-1)!.length > 0, 'the frame at the last stream');
  spinning = false;
  expect(got.filter((frames, i) => i !== 3 && frames.join() !== '1')).toEqual([]);
  expect(errors.map((error) => error.message)).toEqual(['broken stream']);
  expect(new Set(turns).size).toBeGreaterThanOrEqual(2);
  broadcaster.close();
});
