import { PNG } from 'pngjs';
import { closeAllApps, eventually, startCounterApp } from '../helpers/counter-app.js';
import { decodePng, showsCount } from '../../support/png.js';
import { RawClient } from '../helpers/raw-socket.js';
import { trackCounterTimers } from '../helpers/counter-timers.js';
import { GECKO_USER_AGENT, USER_AGENTS } from '../helpers/user-agents.js';

afterEach(async () => {
  RawClient.destroyAll();
  await closeAllApps();
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A viewer whose stream shows 1 (its own view). */
async function viewerShowingOne(url: string, userAgent?: string): Promise<RawClient> {
  const viewer = await RawClient.request(url, undefined, userAgent ? { 'User-Agent': userAgent } : {});
  await viewer.waitForHead();
  expect(viewer.status).toBe(200);
  await eventually(() => viewer.lastFrame !== undefined && showsCount(viewer.lastFrame, 1), 'a frame showing 1');
  return viewer;
}

/** What follows every frame on the wire: the delimiter and the next part's headers. */
function advanceHeaders(viewer: RawClient): Buffer {
  const boundary = /boundary=(\S+)/.exec(viewer.headers['content-type'])![1];
  return Buffer.from(`\r\n--${boundary}\r\nContent-Type: image/png\r\n\r\n`, 'latin1');
}

test('the latest frame is re-sent every keepAliveMs: identical parts keep arriving, the count unchanged', async () => {
  const { url, counter } = await startCounterApp({ keepAliveMs: 150, heartbeatMs: 0 });
  const viewer = await viewerShowingOne(url);
  const changes: number[] = [];
  counter.events.on('change', ({ count }) => changes.push(count));
  const first = viewer.lastFrame!;
  const before = viewer.frames.length;
  await sleep(2000);
  const resent = viewer.frames.slice(before);
  // About 13 in 2 s; paced by the keep-alive, not flooding.
  expect(resent.length).toBeGreaterThanOrEqual(5);
  expect(resent.length).toBeLessThanOrEqual(20);
  for (const png of resent) expect(png.equals(first)).toBe(true);
  expect(counter.count).toBe(1);
  expect(changes).toEqual([]);
});

test('with keepAliveMs 0 and heartbeatMs 0 nothing more arrives after the first frame', async () => {
  const { url, counter } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0 });
  const viewer = await viewerShowingOne(url);
  // Let any change from the join settle and be broadcast first.
  await sleep(300);
  const bytes = viewer.raw.length;
  const frames = viewer.frames.length;
  await sleep(1000);
  expect(viewer.raw.length).toBe(bytes);
  expect(viewer.frames.length).toBe(frames);
  expect(viewer.closed).toBe(false);
  expect(counter.count).toBe(1);
});

/** The body chunks (one per server write) from `offset` on, as [offset, bytes] pairs. */
function chunksFrom(viewer: RawClient, offset: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const chunk of viewer.bodyChunks) {
    if (at >= offset) out.push(chunk);
    at += chunk.length;
  }
  return out;
}

test('heartbeat: single bytes of the next frame arrive one per tick; after the 33 header bytes the frame is completed', async () => {
  const { url } = await startCounterApp({ heartbeatMs: 50, keepAliveMs: 0 });
  const viewer = await viewerShowingOne(url, GECKO_USER_AGENT);
  const png = viewer.lastFrame!;
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
  expect(viewer.frames.length).toBeGreaterThanOrEqual(3);
  for (const frame of viewer.frames) {
    expect(frame.equals(png)).toBe(true);
    expect(decodePng(frame).width).toBe(200);
  }
});

test('heartbeat: a new frame arriving after some heartbeat bytes completes as that frame and decodes', async () => {
  const { url, counter } = await startCounterApp({ heartbeatMs: 50, keepAliveMs: 0 });
  const viewer = await viewerShowingOne(url, GECKO_USER_AGENT);
  const advance = advanceHeaders(viewer);
  const start = viewer.body.indexOf(advance) + advance.length;
  // Some heartbeat bytes are out, fewer than 33.
  await eventually(() => viewer.body.length - start >= 5, 'a few heartbeat bytes');
  const second = await RawClient.request(url);
  await second.waitForHead();
  await eventually(() => counter.count === 2, 'count 2');
  await eventually(() => viewer.lastFrame !== undefined && showsCount(viewer.lastFrame, 2), 'the first viewer shows 2', 5000);
  for (const frame of viewer.frames) expect(decodePng(frame).width).toBe(200);
  // And back to 1, whatever the heartbeat has sent ahead by then.
  await sleep(400);
  second.close();
  await eventually(() => viewer.lastFrame !== undefined && showsCount(viewer.lastFrame, 1), 'the first viewer shows 1 again', 5000);
  for (const frame of viewer.frames) expect(decodePng(frame).width).toBe(200);
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
  const viewer = await RawClient.request(url, undefined, { 'User-Agent': GECKO_USER_AGENT });
  await viewer.waitForHead();
  await eventually(() => viewer.lastFrame !== undefined && decodePng(viewer.lastFrame).width === 50, 'the frame for 1');
  const advance = advanceHeaders(viewer);
  const start = viewer.body.lastIndexOf(advance) + advance.length;
  // More heartbeat bytes out than the 19 that all these PNGs share (the width is bytes 16-19), fewer than 33.
  await eventually(() => viewer.body.length - start >= 21, '21 heartbeat bytes', 10_000);
  const second = await RawClient.request(url);
  await second.waitForHead();
  await eventually(() => counter.count === 2, 'count 2');
  await eventually(() => viewer.lastFrame !== undefined && decodePng(viewer.lastFrame).width === 60, 'the frame for 2', 5000);

  const [one, two] = [render(1), render(2)];
  const chunks = chunksFrom(viewer, start);
  const ahead = chunks.findIndex((chunk) => chunk.length > 1);
  expect(ahead).toBeGreaterThanOrEqual(20);
  expect(ahead).toBeLessThan(33);
  expect(Buffer.concat(chunks.slice(0, ahead)).equals(one.subarray(0, ahead))).toBe(true);
  // The old frame completed from where the heartbeat stopped, then the new one whole.
  expect(chunks[ahead].equals(Buffer.concat([one.subarray(ahead), advance]))).toBe(true);
  expect(chunks[ahead + 1].equals(Buffer.concat([two, advance]))).toBe(true);
  for (const frame of viewer.frames) expect([50, 60]).toContain(decodePng(frame).width);
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

    const more = await Promise.all(Array.from({ length: 19 }, () => RawClient.request(url)));
    await Promise.all(more.map((viewer) => viewer.waitForHead()));
    await eventually(() => counter.count === 20, 'count 20');
    // Every stream is being ticked (keep-alives arrive on all of them).
    await eventually(() => more.every((viewer) => viewer.frames.length >= 3), 'keep-alives on every stream', 10_000);
    await sleep(300);
    expect(timers.live.size).toBeLessThanOrEqual(withOne);
    expect(refTimeouts()).toBeLessThanOrEqual(refWithOne + 1);

    for (const viewer of [one, ...more]) viewer.close();
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

describe('heartbeat bytes go only to Gecko (Firefox); WebKit and Chromium get whole frames only', () => {
  test.each([
    ['Safari on iPhone', USER_AGENTS.safariIphone],
    ['Safari on a Mac', USER_AGENTS.safariMac],
    ['Chromium', USER_AGENTS.chromium],
    ['no User-Agent', undefined],
  ])('%s: nothing arrives between frames while a Firefox on the same counter gets its heartbeat bytes', async (_name, userAgent) => {
    const { url } = await startCounterApp({ heartbeatMs: 20, keepAliveMs: 0 });
    const firefox = await viewerShowingOne(url, GECKO_USER_AGENT);
    const other = await RawClient.request(url, undefined, userAgent ? { 'User-Agent': userAgent } : {});
    await other.waitForHead();
    expect(other.headers.vary).toMatch(/User-Agent/i);
    // Both show 2 now; from here on only the Firefox gets bytes ahead of the next frame.
    await eventually(() => [firefox, other].every((viewer) => viewer.lastFrame !== undefined && showsCount(viewer.lastFrame, 2)), 'both show 2');
    const [firefoxFrom, otherFrom] = [firefox.body.length, other.body.length];
    await eventually(() => firefox.body.length - firefoxFrom >= 10, 'ten heartbeat bytes to the Firefox', 10_000);
    expect(other.body.length - otherFrom).toBe(0);
    // Its stream is whole frames, each followed by the next part's headers.
    const advance = advanceHeaders(other);
    expect(other.body.subarray(other.body.length - advance.length).equals(advance)).toBe(true);
  });
});
