import { BUSY_LOOP, PERIODIC_WRITES_PER_SECOND, StreamTicker } from '../../lib/stream/stream-ticker.js';
import type { TickAllowance, TickedStream } from '../../lib/stream/stream-ticker.js';

// The shared tick hands out a budget of periodic writes. A stream is visited only when it has
// something due (a timing wheel), and one whose write waits for the budget is served first at
// the next tick, in the order it fell due: none is starved, and the total stays bounded.

const TICK_MS = 300;
const BUDGET = Math.floor((PERIODIC_WRITES_PER_SECOND * TICK_MS) / 1000);

/** A stream that wants a write every `periodMs`, and counts what it was allowed. */
function periodicStream(periodMs: number): TickedStream & { visits: number; writes: number[] } {
  let lastWrite = -Infinity;
  return {
    visits: 0,
    writes: [],
    tick(now, allowance) {
      this.visits += 1;
      const due = lastWrite + periodMs;
      if (due > now) return due;
      if (allowance.writes <= 0 || !allowance.relaxed) return now;
      allowance.writes -= 1;
      lastWrite = now;
      this.writes.push(now);
      return now + periodMs;
    },
  };
}

function ticker(...streams: TickedStream[]): StreamTicker {
  const made = new StreamTicker(TICK_MS);
  for (const stream of streams) made.add(stream, 0);
  // The tests drive the ticks themselves.
  made.stop();
  return made;
}

test('with more streams than the budget, each tick writes at most the budget and every stream gets its turn', () => {
  const streams = Array.from({ length: BUDGET * 5 }, () => periodicStream(TICK_MS));
  const shared = ticker(...streams);
  for (let round = 1; round <= 5; round++) shared.tick(round * TICK_MS);
  expect(streams.reduce((sum, stream) => sum + stream.writes.length, 0)).toBe(BUDGET * 5);
  expect(streams.every((stream) => stream.writes.length === 1)).toBe(true);
});

test('with fewer streams than the budget, every stream writes as often as it asks', () => {
  const streams = Array.from({ length: 10 }, () => periodicStream(TICK_MS));
  const shared = ticker(...streams);
  for (let round = 1; round <= 4; round++) shared.tick(round * TICK_MS);
  expect(streams.map((stream) => stream.writes.length)).toEqual(Array(10).fill(4));
});

test('a stream is visited only when it has something due, not at every tick', () => {
  const slow = periodicStream(3000);
  const shared = ticker(slow);
  for (let round = 1; round <= 40; round++) shared.tick(round * TICK_MS);
  // Its first visit, then about one a write (a visit may come a tick early and look again).
  expect(slow.writes).toHaveLength(4);
  expect(slow.visits).toBeLessThanOrEqual(2 * slow.writes.length + 1);
});

test('past the budget, streams are served in the order their writes fell due', () => {
  const streams = Array.from({ length: BUDGET * 3 }, () => periodicStream(TICK_MS));
  const shared = ticker(...streams);
  for (let round = 1; round <= 6; round++) shared.tick(round * TICK_MS);
  // Every stream wrote twice in six ticks, and the gap between its writes is three ticks.
  expect(streams.every((stream) => stream.writes.length === 2)).toBe(true);
  expect(new Set(streams.map((stream) => stream.writes[1] - stream.writes[0]))).toEqual(new Set([3 * TICK_MS]));
});

test('a write that must go out past the budget (a keep-alive at its cap) is made, and the queue goes on after it', () => {
  const forced: TickedStream & { writes: number } = {
    writes: 0,
    tick(now, allowance: TickAllowance) {
      allowance.writes -= 1;
      this.writes += 1;
      return now;
    },
  };
  const others = Array.from({ length: BUDGET }, () => periodicStream(TICK_MS));
  const shared = ticker(...others, forced);
  shared.tick(TICK_MS);
  shared.tick(2 * TICK_MS);
  // The first tick's budget went to the others before it, and it wrote anyway; the budget is
  // spent at most one over per forced write.
  expect(forced.writes).toBe(2);
  expect(others.reduce((sum, stream) => sum + stream.writes.length, 0)).toBe(2 * BUDGET - 1);
});

test('a stream that leaves is not visited again, and the others keep their turns', () => {
  const streams = Array.from({ length: 5 }, () => periodicStream(TICK_MS));
  const shared = ticker(...streams);
  shared.tick(TICK_MS);
  shared.remove(streams[2]);
  shared.tick(2 * TICK_MS);
  shared.tick(3 * TICK_MS);
  expect(shared.size).toBe(4);
  expect(streams.map((stream) => stream.writes.length)).toEqual([3, 3, 1, 3, 3]);
});

test('soon() brings a stream waiting far ahead to the next tick', () => {
  const slow = periodicStream(60_000);
  const shared = ticker(slow);
  shared.tick(TICK_MS);
  const visits = slow.visits;
  shared.tick(2 * TICK_MS);
  expect(slow.visits).toBe(visits);
  shared.soon(slow);
  shared.tick(3 * TICK_MS);
  expect(slow.visits).toBe(visits + 1);
});

test('the timer runs only while a stream is there', () => {
  jest.useFakeTimers();
  try {
    const shared = new StreamTicker(100);
    const stream = periodicStream(100);
    shared.add(stream);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(350);
    expect(stream.visits).toBeGreaterThanOrEqual(3);
    shared.remove(stream);
    expect(jest.getTimerCount()).toBe(0);
  } finally {
    jest.useRealTimers();
  }
});

test('while the event loop is busy (a join storm), streams are told so', () => {
  const told: boolean[] = [];
  const stream: TickedStream = {
    tick(now, allowance) {
      told.push(allowance.relaxed);
      return now + 1;
    },
  };
  const shared = ticker(stream);
  shared.tick(TICK_MS, BUSY_LOOP + 0.1);
  shared.tick(2 * TICK_MS, BUSY_LOOP - 0.1);
  expect(told).toEqual([false, true]);
});
