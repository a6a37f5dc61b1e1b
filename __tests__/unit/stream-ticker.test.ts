import { BUSY_LOOP, PERIODIC_WRITES_PER_SECOND, StreamTicker } from '../../lib/stream-ticker.js';
import type { TickedStream } from '../../lib/stream-ticker.js';

// The shared tick hands out a budget of periodic writes: every stream is visited each tick,
// but past the budget the writes go round-robin, so none is starved and the total is bounded.

/** A stream that always wants to write, and counts what it was allowed. */
function eagerStream(): TickedStream & { visits: number; writes: number } {
  return {
    visits: 0,
    writes: 0,
    tick(_now, mayWrite) {
      this.visits += 1;
      if (!mayWrite) return false;
      this.writes += 1;
      return true;
    },
  };
}

test('with more streams than the budget, each tick writes at most the budget and every stream gets its turn', () => {
  const tickMs = 300;
  const ticker = new StreamTicker(tickMs);
  const budget = Math.floor((PERIODIC_WRITES_PER_SECOND * tickMs) / 1000);
  const streams = Array.from({ length: budget * 5 }, eagerStream);
  for (const stream of streams) ticker.add(stream);
  for (let round = 0; round < 5; round++) ticker.tick(round * tickMs);
  ticker.stop();
  expect(streams.reduce((sum, stream) => sum + stream.writes, 0)).toBe(budget * 5);
  expect(streams.every((stream) => stream.writes === 1)).toBe(true);
  expect(streams.every((stream) => stream.visits === 5)).toBe(true);
});

test('with fewer streams than the budget, every stream writes on every tick', () => {
  const ticker = new StreamTicker(300);
  const streams = Array.from({ length: 10 }, eagerStream);
  for (const stream of streams) ticker.add(stream);
  ticker.tick(0);
  ticker.tick(300);
  ticker.stop();
  expect(streams.map((stream) => stream.writes)).toEqual(Array(10).fill(2));
});

test('a stream that leaves during a tick is not visited again, and the others keep their turns', () => {
  const ticker = new StreamTicker(300);
  const streams = Array.from({ length: 5 }, eagerStream);
  const leaving: TickedStream = {
    tick() {
      ticker.remove(leaving);
      return false;
    },
  };
  ticker.add(streams[0]);
  ticker.add(leaving);
  for (const stream of streams.slice(1)) ticker.add(stream);
  ticker.tick(0);
  ticker.tick(300);
  ticker.stop();
  expect(ticker.size).toBe(5);
  expect(streams.map((stream) => stream.visits)).toEqual(Array(5).fill(2));
});

test('the timer runs only while a stream is there', () => {
  jest.useFakeTimers();
  try {
    const ticker = new StreamTicker(100);
    const stream = eagerStream();
    ticker.add(stream);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(350);
    expect(stream.visits).toBe(3);
    ticker.remove(stream);
    expect(jest.getTimerCount()).toBe(0);
  } finally {
    jest.useRealTimers();
  }
});

test('while the event loop is busy (a join storm), streams are told to hold heartbeats back; every stream is still visited', () => {
  const ticker = new StreamTicker(300);
  const told: boolean[][] = [];
  const streams = Array.from({ length: 3 }, (_, i): TickedStream => {
    told[i] = [];
    return {
      tick(_now, _mayWrite, heartbeats) {
        told[i].push(heartbeats);
        return false;
      },
    };
  });
  for (const stream of streams) ticker.add(stream);
  ticker.tick(0, BUSY_LOOP + 0.1);
  ticker.tick(300, BUSY_LOOP - 0.1);
  ticker.stop();
  expect(told).toEqual([[false, true], [false, true], [false, true]]);
});
