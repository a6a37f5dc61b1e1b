// Heartbeat bytes (Gecko only, lib/stream/stream-framing.ts): between frames, Firefox gets the next
// PNG's first bytes one per heartbeatMs, at most 33 ahead, each part still a whole PNG; every
// other engine gets whole frames only.
import { PNG } from 'pngjs';
import { startCounterApp } from '../helpers/counter-app.js';
import { RawConnection } from '../helpers/raw-connection.js';
import { boundaryOf, checkClosedBody, joinAndLeaveSeenBy, lastStrictPart, readMultipart } from '../helpers/strict-multipart.js';
import { eventually, sleep } from '../helpers/time.js';
import { GECKO_USER_AGENT, PAGE_VIEW_PATH, USER_AGENTS } from '../helpers/user-agents.js';
import { decodePng, expectedEndedFrame, expectedFrame, samePixels, showsCount } from '../../support/png.js';

/** The PNG signature and IHDR chunk: the most a heartbeat may send ahead of a frame. */
const PNG_HEADER_LENGTH = 33;

/** Whether `part` is the last frame of a stream the server ended while it showed `count` (dimmed). */
const showsEnded = (part: Buffer, count: number) => samePixels(part, expectedEndedFrame(count));

/** A Firefox whose stream shows 1 (its own view). */
async function firefoxShowingOne(url: string): Promise<RawConnection> {
  const viewer = await RawConnection.open(url, { path: PAGE_VIEW_PATH, extra: [['User-Agent', GECKO_USER_AGENT]] });
  expect((await viewer.waitForHead()).status).toBe(200);
  await viewer.waitForLastPart((png) => showsCount(png, 1), 'a frame showing 1');
  return viewer;
}

/** What follows every frame on the wire: the delimiter and the next part's headers. */
function advanceHeaders(viewer: RawConnection): Buffer {
  const boundary = /boundary=(\S+)/.exec(viewer.head!.headers['content-type'])![1];
  return Buffer.from(`\r\n--${boundary}\r\nContent-Type: image/png\r\n\r\n`, 'latin1');
}

/** The body chunks (one per server write) from `offset` on, as [offset, bytes] pairs. */
function chunksFrom(viewer: RawConnection, offset: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const chunk of viewer.writes) {
    if (at >= offset) out.push(chunk);
    at += chunk.length;
  }
  return out;
}

test('heartbeat: single bytes of the next frame arrive one per tick; after the 33 header bytes the frame is completed', async () => {
  const { url } = await startCounterApp({ heartbeatMs: 50, keepAliveMs: 0 });
  const viewer = await firefoxShowingOne(url);
  const png = viewer.lastPart!;
  const advance = advanceHeaders(viewer);
  // Right after the first frame's advance headers.
  const start = viewer.body.indexOf(advance) + advance.length;
  expect(start).toBeGreaterThan(advance.length);

  // Two full heartbeat cycles: 2 × (33 single bytes + the rest of the frame).
  await eventually(() => chunksFrom(viewer, start).length >= 2 * 34, 'two heartbeat cycles', 10_000);
  const chunks = chunksFrom(viewer, start).slice(0, 2 * 34);
  for (let cycle = 0; cycle < 2; cycle++) {
    const part = chunks.slice(cycle * 34, cycle * 34 + 34);
    // Each heartbeat is one byte, and it is the next frame's own byte at that place...
    for (let i = 0; i < 33; i++) {
      expect(part[i].length).toBe(1);
      expect(part[i][0]).toBe(png[i]);
    }
    // ...and once the 33 bytes of signature and IHDR are used up, the rest of the frame
    // comes at once, with the next part's headers: a full re-send of the same frame.
    expect(part[33].equals(Buffer.concat([png.subarray(33), advance]))).toBe(true);
  }
  // The parser sees whole, identical, decodable parts.
  expect(viewer.parts.length).toBeGreaterThanOrEqual(3);
  for (const frame of viewer.parts) {
    expect(frame.equals(png)).toBe(true);
    expect(decodePng(frame).width).toBe(200);
  }
});

test('heartbeat: a new frame arriving after some heartbeat bytes completes as that frame and decodes', async () => {
  const { url, counter } = await startCounterApp({ heartbeatMs: 50, keepAliveMs: 0 });
  const viewer = await firefoxShowingOne(url);
  const advance = advanceHeaders(viewer);
  const start = viewer.body.indexOf(advance) + advance.length;
  // Some heartbeat bytes are out, fewer than 33.
  await eventually(() => viewer.body.length - start >= 5, 'a few heartbeat bytes');
  const second = await RawConnection.open(url);
  await second.waitForHead();
  await eventually(() => counter.count === 2, 'count 2');
  await viewer.waitForLastPart((png) => showsCount(png, 2), 'the first viewer shows 2', 5000);
  for (const frame of viewer.parts) expect(decodePng(frame).width).toBe(200);
  // And back to 1, whatever the heartbeat has sent ahead by then.
  await sleep(400);
  second.destroy();
  await viewer.waitForLastPart((png) => showsCount(png, 1), 'the first viewer shows 1 again', 5000);
  for (const frame of viewer.parts) expect(decodePng(frame).width).toBe(200);
});

test('heartbeat: when the next frame is another kind of PNG, the bytes sent ahead are completed as the old frame, then the new one is sent whole', async () => {
  // A custom renderer whose frames differ in width, so their IHDR chunks (bytes 16-19) differ.
  const framesByCount = new Map<number, Buffer>();
  const render = (count: number): Buffer => {
    let png = framesByCount.get(count);
    if (!png) {
      const image = new PNG({ width: 40 + 10 * count, height: 20 });
      image.data.fill(0x80);
      png = PNG.sync.write(image, { filterType: 0 });
      framesByCount.set(count, png);
    }
    return png;
  };
  const { url, counter } = await startCounterApp({ render, heartbeatMs: 100, keepAliveMs: 0 });
  const viewer = await RawConnection.open(url, { path: PAGE_VIEW_PATH, extra: [['User-Agent', GECKO_USER_AGENT]] });
  await viewer.waitForHead();
  await eventually(() => viewer.lastPart !== undefined && decodePng(viewer.lastPart).width === 50, 'the frame for 1');
  const advance = advanceHeaders(viewer);
  const start = viewer.body.lastIndexOf(advance) + advance.length;
  // More heartbeat bytes out than the 19 that all these PNGs share (the width is bytes 16-19), fewer than 33.
  await eventually(() => viewer.body.length - start >= 21, '21 heartbeat bytes', 10_000);
  const second = await RawConnection.open(url);
  await second.waitForHead();
  await eventually(() => counter.count === 2, 'count 2');
  await eventually(() => viewer.lastPart !== undefined && decodePng(viewer.lastPart).width === 60, 'the frame for 2', 5000);

  const [one, two] = [render(1), render(2)];
  const chunks = chunksFrom(viewer, start);
  const ahead = chunks.findIndex((chunk) => chunk.length > 1);
  expect(ahead).toBeGreaterThanOrEqual(20);
  expect(ahead).toBeLessThan(33);
  expect(Buffer.concat(chunks.slice(0, ahead)).equals(one.subarray(0, ahead))).toBe(true);
  // The old frame completed from where the heartbeat stopped, then the new one whole.
  expect(chunks[ahead].equals(Buffer.concat([one.subarray(ahead), advance]))).toBe(true);
  expect(chunks[ahead + 1].equals(Buffer.concat([two, advance]))).toBe(true);
  for (const frame of viewer.parts) expect([50, 60]).toContain(decodePng(frame).width);
});

test('heartbeat bytes are the next PNG’s first bytes, at most 33 ahead, and every part still decodes', async () => {
  const { url, counter } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 20 });
  const raw = await RawConnection.open(url, { path: PAGE_VIEW_PATH, extra: [['User-Agent', GECKO_USER_AGENT]] });
  await raw.waitForHead();
  const boundary = boundaryOf(raw.head!.headers['content-type']);
  // At 20 ms a byte, the 33 header bytes run out after about 0.7 s and the frame is completed.
  await eventually(() => readMultipart(raw.body, boundary).parts.length >= 3, '3 complete parts', 20_000);
  await eventually(() => {
    const { openPartStart } = readMultipart(raw.body, boundary);
    return openPartStart !== undefined && raw.body.length - openPartStart >= 5;
  }, 'heartbeat bytes after the advance headers', 10_000);

  // Between frames: the bytes after the advance headers are the start of a PNG (signature first).
  const between = raw.body;
  const openPartStart = readMultipart(between, boundary).openPartStart!;
  const ahead = between.subarray(openPartStart);
  expect(ahead.length).toBeLessThanOrEqual(PNG_HEADER_LENGTH);
  expect(ahead.equals(expectedFrame(1).subarray(0, ahead.length))).toBe(true);

  await counter.close();
  await eventually(() => raw.bodyEnded || raw.closed, 'the stream to end');
  const body = raw.body;
  const parts = checkClosedBody(body, boundary);
  for (const part of parts.slice(0, -1)) expect(showsCount(part, 1) || showsCount(part, 0)).toBe(true);
  expect(showsEnded(parts.at(-1)!, 1)).toBe(true);
  // The part those bytes began was completed as a whole PNG: the live frame, or the ended one
  // when the stream ended first (every frame of one size starts with the same bytes).
  const aheadPart = readMultipart(body, boundary).parts.find(({ start }) => start === openPartStart)!;
  expect(aheadPart).toBeDefined();
  expect(body.subarray(openPartStart, openPartStart + ahead.length).equals(ahead)).toBe(true);
  const completed = body.subarray(aheadPart.start, aheadPart.end);
  expect(showsCount(completed, 1) || showsEnded(completed, 1)).toBe(true);

  // Each one-byte write (a heartbeat) lies in the first 33 bytes of a part, and runs of them are at most 33 long.
  const walk = readMultipart(body, boundary);
  let offset = 0;
  let run = 0;
  let heartbeats = 0;
  for (const write of raw.writes) {
    if (write.length === 1) {
      const part = walk.parts.find(({ start, end }) => offset >= start && offset < end);
      expect(part).toBeDefined();
      expect(offset - part!.start).toBeLessThan(PNG_HEADER_LENGTH);
      run += 1;
      heartbeats += 1;
      expect(run).toBeLessThanOrEqual(PNG_HEADER_LENGTH);
    } else {
      run = 0;
    }
    offset += write.length;
  }
  expect(heartbeats).toBeGreaterThanOrEqual(PNG_HEADER_LENGTH);
});

test('a frame that arrives while heartbeat bytes are out completes its part as a valid PNG of the new count', async () => {
  const { url, counter } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 20 });
  const raw = await RawConnection.open(url, { path: PAGE_VIEW_PATH, extra: [['User-Agent', GECKO_USER_AGENT]] });
  await raw.waitForHead();
  const boundary = boundaryOf(raw.head!.headers['content-type']);
  const lastPart = () => lastStrictPart(raw.body, boundary);
  await eventually(() => lastPart() !== undefined && showsCount(lastPart()!, 1), 'a part showing 1', 10_000);
  await eventually(() => {
    const { openPartStart } = readMultipart(raw.body, boundary);
    return openPartStart !== undefined && raw.body.length - openPartStart >= 3;
  }, 'heartbeat bytes out', 10_000);
await joinAndLeaveSeenBy(raw, url, boundary);
  await counter.close();
  await eventually(() => raw.bodyEnded || raw.closed, 'the stream to end');
  const parts = checkClosedBody(raw.body, boundary);
  for (const part of parts.slice(0, -1)) expect([0, 1, 2].some((n) => showsCount(part, n))).toBe(true);
  expect(showsEnded(parts.at(-1)!, 1)).toBe(true);
});

describe('heartbeat bytes go only to Gecko (Firefox); WebKit and Chromium get whole frames only', () => {
  test.each([
    ['Safari on iPhone', USER_AGENTS.safariIphone],
    ['Safari on a Mac', USER_AGENTS.safariMac],
    ['Chromium', USER_AGENTS.chromium],
    ['no User-Agent', undefined],
  ])('%s: nothing arrives between frames while a Firefox on the same counter gets its heartbeat bytes', async (_name, userAgent) => {
    const { url } = await startCounterApp({ heartbeatMs: 20, keepAliveMs: 0 });
    const firefox = await firefoxShowingOne(url);
    const other = await RawConnection.open(url, { extra: userAgent ? [['User-Agent', userAgent]] : [] });
    await other.waitForHead();
    expect(other.head!.headers.vary).toMatch(/User-Agent/i);
    // Both show 2 now; from here on only the Firefox gets bytes ahead of the next frame.
    await eventually(() => [firefox, other].every((viewer) => viewer.lastPart !== undefined && showsCount(viewer.lastPart, 2)), 'both show 2');
    const [firefoxFrom, otherFrom] = [firefox.body.length, other.body.length];
    await eventually(() => firefox.body.length - firefoxFrom >= 10, 'ten heartbeat bytes to the Firefox', 10_000);
    expect(other.body.length - otherFrom).toBe(0);
    // Its stream is whole frames, each followed by the next part's headers.
    const advance = advanceHeaders(other);
    expect(other.body.subarray(other.body.length - advance.length).equals(advance)).toBe(true);
  });
});
