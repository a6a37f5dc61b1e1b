import type { Request } from 'express';
import { PNG } from 'pngjs';
import { FRAME_CACHE_BYTES, FrameCache } from '../../lib/frames/frame-cache.js';
import { MultipartFormat } from '../../lib/stream/multipart-format.js';
import { PalettePngEncoder } from '../../lib/frames/png-encoder.js';
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import { showsCount } from '../../support/png.js';
import { Viewer } from '../helpers/viewer.js';

// The frames a counter keeps: one buffer each, shared by the rooms when the drawing is, and
// bounded by bytes for the whole counter, whatever the number of rooms.

const format = new MultipartFormat();
function frameOfWidth(count: number, width: number) {
  return format.frame(count, new PalettePngEncoder(width, 2, new Uint8Array([0, 0, 0, 0, 0, 100, 0, 255])).encodeSync(new Uint8Array(width * 2).fill(1)));
}

test('a frame is one buffer: its PNG and its wire bytes are views of its HTTP chunk, with no other copy kept', () => {
  const frame = frameOfWidth(1, 50);
  expect(frame.png.buffer).toBe(frame.chunk.buffer);
  expect(frame.wire.buffer).toBe(frame.chunk.buffer);
  expect(frame.png.byteOffset).toBe(frame.wire.byteOffset);
  const sizeLine = `${frame.wire.length.toString(16)}\r\n`;
  expect(frame.chunk.toString('latin1')).toBe(`${sizeLine}${frame.wire.toString('latin1')}\r\n`);
  expect(frame.wire.byteOffset - frame.chunk.byteOffset).toBe(sizeLine.length);
  expect(Object.keys(frame).sort()).toEqual(['chunk', 'count', 'png', 'wire']);
});

test('the cache keeps at most its budget in bytes over every shelf, forgetting the least recently used first', () => {
  const one = frameOfWidth(0, 50);
  // A frame costs the bytes of its chunk, the one buffer it holds.
  const cache = new FrameCache(one.chunk.length * 3);
  const a = cache.shelf('1\0a');
  const b = cache.shelf('1\0b');
  a.keep(0, one);
  a.keep(1, frameOfWidth(1, 50));
  b.keep(0, frameOfWidth(0, 50));
  expect(cache.bytes).toBe(one.chunk.length * 3);
  // Used last: a's 0 stays when the next frame needs room; a's 1 goes.
  expect(a.get(0)).toBe(one);
  b.keep(1, frameOfWidth(1, 50));
  expect(cache.bytes).toBeLessThanOrEqual(one.chunk.length * 3);
  expect([a.has(0), a.has(1), b.has(0), b.has(1)]).toEqual([true, false, true, true]);
  // Ended frames have shelves of their own.
  expect(a.has(0, true)).toBe(false);
  // A frame larger than the budget is still kept alone, the newest.
  const noise = new PNG({ width: 64, height: 64 });
  for (let i = 0; i < noise.data.length; i++) noise.data[i] = (i * 7919) % 251;
  const huge = format.frame(5, PNG.sync.write(noise, { deflateLevel: 0 }));
  expect(huge.chunk.length).toBeGreaterThan(one.chunk.length * 3);
  a.keep(5, huge);
  expect([cache.bytes, a.get(5)]).toEqual([huge.chunk.length, huge]);
});

test('with a drawing of the count alone, rooms share their frames: 30 rooms hold what one room holds, and stats() says how much', async () => {
  const app = await startCounterApp({ room: (req: Request) => req.query.page as string | undefined, maxRoomsPerIp: 100 });
  const first = await Viewer.open(app.url, { path: '/online.png?page=r0' });
  await first.waitForLastFrame((png) => showsCount(png, 1), 'room r0 to show 1');
  // The neighbours (0 and 2) are drawn once the count has settled.
  await eventually(() => app.counter.stats().frameBytes >= 3 * first.lastFrame!.length, 'frames for 0, 1 and 2 kept');
  const oneRoom = app.counter.stats().frameBytes;
  for (let room = 1; room < 30; room++) {
    const viewer = await Viewer.open(app.url, { path: `/online.png?page=r${room}` });
    await viewer.waitForLastFrame((png) => showsCount(png, 1), `room r${room} to show 1`);
  }
  expect(app.counter.stats().rooms).toBe(30);
  expect(app.counter.stats().frameBytes).toBeLessThanOrEqual(oneRoom + 4 * first.lastFrame!.length);
  expect(app.counter.stats().frameBytes).toBeLessThanOrEqual(FRAME_CACHE_BYTES);
});
