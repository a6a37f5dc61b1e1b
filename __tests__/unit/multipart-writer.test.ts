import { FakeResponse } from '../helpers/fake-response.js';
import { monotonicNow } from '../../lib/util/clock.js';
import { WITH_HEARTBEATS, WITHOUT_HEARTBEATS } from '../../lib/stream/stream-framing.js';
import type { ServerResponse } from 'node:http';
import { parseMultipart } from '@remix-run/multipart-parser';
import { MultipartFormat } from '../../lib/stream/multipart-format.js';
import { MultipartWriter } from '../../lib/stream/multipart-writer.js';
import { KEEP_ALIVE_CAP_MS, KEEP_ALIVE_CAP_SPREAD_MS } from '../../lib/stream/periodic-writes.js';
import { PalettePngEncoder } from '../../lib/frames/png-encoder.js';

// The writer against a response whose socket fills up on demand: what it writes must always
// read back as whole PNG parts, whatever the order of heartbeats, blocking and new frames.

function settings(format: MultipartFormat) {
  return { format, keepAliveMs: 3000, heartbeatMs: 300, tickMs: 300, stallTimeoutMs: 60_000, maxStreamMs: 0, stats: { framesSent: 0, framesDropped: 0 } };
}

/** One tick of the shared ticker for `writer` alone: whether it wrote. `relaxed`: false while the event loop is busy. */
function tick(writer: MultipartWriter, now: number, relaxed = true): boolean {
  const allowance = { writes: 1, relaxed };
  writer.tick(now, allowance);
  return allowance.writes < 1;
}

function pngOfWidth(width: number): Buffer {
  return new PalettePngEncoder(width, 2, new Uint8Array([0, 0, 0, 0, 0, 100, 0, 255])).encodeSync(new Uint8Array(width * 2).fill(1));
}

test('heartbeat bytes of one PNG size, then blocked, then a frame of another size: the first part is completed, the new one starts whole', () => {
  const format = new MultipartFormat();
  const response = new FakeResponse();
  const stats = { framesSent: 0, framesDropped: 0 };
  const writer = new MultipartWriter(response as unknown as ServerResponse, {
    format, keepAliveMs: 0, heartbeatMs: 10, tickMs: 10, stallTimeoutMs: 60_000, maxStreamMs: 0, stats,
  }, () => undefined, WITH_HEARTBEATS);
  const narrow = format.frame(1, pngOfWidth(50));
  const wide = format.frame(2, pngOfWidth(60));
  writer.start(narrow);
  const start = monotonicNow();
  for (let t = 1; t <= 20; t++) tick(writer, start + t * 1000);
  // The next heartbeat byte fills the socket; the wide frame arrives while it is full.
  response.full = true;
  tick(writer, start + 30_000);
  writer.send(wide);
  response.full = false;
  writer.drained();
  writer.end();

  const body = Buffer.concat(response.chunks);
  // 21 bytes of the narrow PNG went ahead (its width among them), one at a time.
  expect(response.chunks.filter((chunk) => chunk.length === 1)).toHaveLength(21);
  const parts = [...parseMultipart(body, { boundary: format.boundary })].map((part) => Buffer.from(part.bytes));
  expect(parts.map((part) => part.readUInt32BE(16))).toEqual([50, 50, 60, 60]);
  expect(parts).toEqual([narrow.png, narrow.png, wide.png, wide.png]);
  expect(stats).toEqual({ framesSent: 2, framesDropped: 0 });
});

test('streams framed together reach the keep-alive cap spread over its last 2 s, not in one tick', () => {
  const format = new MultipartFormat();
  const frame = format.frame(1, pngOfWidth(50));
  const start = monotonicNow();
  const writers = Array.from({ length: 1000 }, () => {
    const response = new FakeResponse();
    const writer = new MultipartWriter(response as unknown as ServerResponse, { ...settings(format), tickMs: 100 }, () => undefined, WITHOUT_HEARTBEATS);
    writer.start(frame);
    return { response, writer };
  });
  // No budget at all: only keep-alives at their cap go out; the tick at which each one did.
  const wroteAt = new Map<number, number>();
  for (let t = start + 100; t <= start + KEEP_ALIVE_CAP_MS + 100; t += 100) {
    writers.forEach(({ writer, response }, i) => {
      writer.tick(t, { writes: 0, relaxed: true });
      if (response.chunks.length > 1 && !wroteAt.has(i)) wroteAt.set(i, t - start);
    });
  }
  const times = [...wroteAt.values()];
  expect(times).toHaveLength(1000);
  expect(Math.min(...times)).toBeGreaterThanOrEqual(KEEP_ALIVE_CAP_MS - KEEP_ALIVE_CAP_SPREAD_MS - 100);
  expect(Math.max(...times)).toBeLessThanOrEqual(KEEP_ALIVE_CAP_MS + 100);
  const perTick = new Map<number, number>();
  for (const t of times) perTick.set(t, (perTick.get(t) ?? 0) + 1);
  // 20 ticks share them: none takes more than a tenth.
  expect(Math.max(...perTick.values())).toBeLessThanOrEqual(100);
});

test('told to hold back (a busy server), a writer sends no heartbeat byte, and a keep-alive only once held back a period of its own (or at its cap)', () => {
  const format = new MultipartFormat();
  const frame = format.frame(1, pngOfWidth(50));
  const started = () => {
    const response = new FakeResponse();
    const writer = new MultipartWriter(response as unknown as ServerResponse, {
      format, keepAliveMs: 3000, heartbeatMs: 300, tickMs: 300, stallTimeoutMs: 60_000, maxStreamMs: 0, stats: { framesSent: 0, framesDropped: 0 },
    }, () => undefined, WITH_HEARTBEATS);
    writer.start(frame);
    return { response, writer };
  };
  const start = monotonicNow();

  const busy = started();
  expect(tick(busy.writer, start + 1000, false)).toBe(false);
  expect(tick(busy.writer, start + 3000, false)).toBe(false);
  expect(tick(busy.writer, start + 5400, false)).toBe(false);
  expect(busy.response.chunks).toHaveLength(1);
  expect(tick(busy.writer, start + 6000, false)).toBe(true);
  expect(busy.response.chunks.slice(1)).toEqual([frame.wire]);
  // Only past the budget at its cap.
  const noBudget = started();
  expect(noBudget.writer.tick(start + 6000, { writes: 0, relaxed: false })).toBeDefined();
  expect(noBudget.response.chunks).toHaveLength(1);
  noBudget.writer.tick(start + KEEP_ALIVE_CAP_MS, { writes: 0, relaxed: false });
  expect(noBudget.response.chunks.slice(1)).toEqual([frame.wire]);

  const idle = started();
  expect(tick(idle.writer, start + 1000)).toBe(true);
  expect(idle.response.chunks.slice(1)).toEqual([frame.png.subarray(0, 1)]);
});

test('without heartbeats (WebKit, Chromium, an unknown client) a writer sends nothing between frames but the keep-alive re-send', () => {
  const format = new MultipartFormat();
  const frame = format.frame(1, pngOfWidth(50));
  const response = new FakeResponse();
  const writer = new MultipartWriter(response as unknown as ServerResponse, settings(format), () => undefined, WITHOUT_HEARTBEATS);
  writer.start(frame);
  const start = monotonicNow();
  for (let t = 300; t < 3000; t += 300) expect(tick(writer, start + t)).toBe(false);
  expect(response.chunks).toEqual([Buffer.concat([format.preamble, frame.wire])]);
  expect(tick(writer, start + 3000)).toBe(true);
  expect(response.chunks.slice(1)).toEqual([frame.wire]);
});

test('end(last) completes the open part with `last` whole, after heartbeat bytes of the frame before it, then closes', () => {
  const format = new MultipartFormat();
  const live = format.frame(4, pngOfWidth(50));
  const ended = format.frame(4, new PalettePngEncoder(50, 2, new Uint8Array([0, 0, 0, 0, 0, 100, 0, 255])).encodeSync(new Uint8Array(100).fill(0)));
  const response = new FakeResponse();
  const writer = new MultipartWriter(response as unknown as ServerResponse, settings(format), () => undefined, WITH_HEARTBEATS);
  writer.start(live);
  const start = monotonicNow();
  for (let t = 1; t <= 5; t++) tick(writer, start + t * 300);
  writer.end(ended);
  const body = Buffer.concat(response.chunks);
  expect(body.subarray(-format.closeDelimiter.length).equals(format.closeDelimiter)).toBe(true);
  const parts = [...parseMultipart(body, { boundary: format.boundary })].map((part) => Buffer.from(part.bytes));
  expect(parts).toEqual([live.png, ended.png]);
  expect(writer.ended).toBe(true);
});
