import { FakeResponse } from '../helpers/fake-response.js';
import type { ServerResponse } from 'node:http';
import { FrameBroadcaster } from '../../lib/frames/frame-broadcaster.js';
import type { Frame } from '../../lib/stream/multipart-format.js';
import { MultipartFormat } from '../../lib/stream/multipart-format.js';
import { MultipartWriter } from '../../lib/stream/multipart-writer.js';
import { PalettePngEncoder } from '../../lib/frames/png-encoder.js';
import { StreamTicker } from '../../lib/stream/stream-ticker.js';
import { FrameCache } from '../../lib/frames/frame-cache.js';

// Every duration is measured on a monotonic clock: the wall clock stepping (NTP, a resumed VM)
// changes nothing. Jest's fake timers step `Date.now()` with `setSystemTime` and leave
// `performance.now()` alone, as a real step does.

const A_PNG = new PalettePngEncoder(2, 2, new Uint8Array([0, 0, 0, 0])).encodeSync(new Uint8Array(4));
const HOUR = 3_600_000;

const format = new MultipartFormat();
const tickers: StreamTicker[] = [];

function streamWithTicker(maxStreamMs: number) {
  // Fake timers run the loop flat out: it is not a join storm.
  const ticker = new StreamTicker(300, () => 0);
  tickers.push(ticker);
  const response = new FakeResponse();
  const writer = new MultipartWriter(response as unknown as ServerResponse, {
    format, keepAliveMs: 3000, heartbeatMs: 0, tickMs: 300, stallTimeoutMs: 30_000, maxStreamMs, stats: { framesSent: 0, framesDropped: 0 },
  }, () => undefined);
  const frame = format.frame(1, A_PNG);
  writer.start(frame);
  ticker.add(writer);
  return { response, writer, frame };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => {
  for (const ticker of tickers.splice(0)) ticker.stop();
  jest.useRealTimers();
});

test('a wall clock stepped back an hour does not freeze keep-alives', () => {
  const { response, frame } = streamWithTicker(0);
  jest.advanceTimersByTime(3300);
  expect(response.chunks.filter((chunk) => chunk === frame.wire || chunk.equals(frame.wire))).toHaveLength(1);
  jest.setSystemTime(Date.now() - HOUR);
  jest.advanceTimersByTime(6600);
  expect(response.chunks.filter((chunk) => chunk.equals(frame.wire))).toHaveLength(3);
});

test('a wall clock stepped forward a day does not end maxStreamMs streams early, and they still end on time', () => {
  const { writer } = streamWithTicker(60_000);
  jest.advanceTimersByTime(1000);
  jest.setSystemTime(Date.now() + 24 * HOUR);
  jest.advanceTimersByTime(1000);
  expect(writer.ended).toBe(false);
  jest.advanceTimersByTime(58_500);
  expect(writer.ended).toBe(true);
});

test('a wall clock stepped back an hour while a change settles does not hold the broadcast back', async () => {
  let count = 0;
  const broadcast: number[] = [];
  const ticker = new StreamTicker(1000);
  tickers.push(ticker);
  const broadcaster = new FrameBroadcaster({
    readCount: () => count,
    renderer: { render: async () => A_PNG },
    format,
    frames: new FrameCache().shelf('1'),
    ticker,
    report: (error) => {
      throw error;
    },
  });
  broadcaster.bus.on('frame', (frame: Frame) => broadcast.push(frame.count));
  await jest.advanceTimersByTimeAsync(1000);
  count = 1;
  broadcaster.countChanged();
  await jest.advanceTimersByTimeAsync(10);
  jest.setSystemTime(Date.now() - HOUR);
  await jest.advanceTimersByTimeAsync(1000);
  expect(broadcast).toContain(1);
  broadcaster.close();
});
