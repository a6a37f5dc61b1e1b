// The first frame a viewer gets: written as its stream opens (the headers and first part
// headers before any render), from what is already drawn, never waiting for a broadcast,
// a render or the keep-alive.
import { PNG } from 'pngjs';
import { createCanvasRenderer } from '../../lib/frames/frame-renderer.js';
import { startCounterApp } from '../helpers/counter-app.js';
import { MockStore } from '../helpers/mock-store.js';
import { RawConnection } from '../helpers/raw-connection.js';
import { PART_HEADERS, boundaryOf, readMultipart } from '../helpers/strict-multipart.js';
import { eventually, sleep } from '../helpers/time.js';
import { Viewer } from '../helpers/viewer.js';
import { DEFAULT_IMAGE, decodePng, showsCount } from '../../support/png.js';

test('the headers and the first part headers arrive before any render has finished', async () => {
  // A renderer held back by the test: no frame can exist until it is released.
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const rendersStarted: number[] = [];
  const rendersFinished: number[] = [];
  const png = decodeablePng();
  const { url } = await startCounterApp({
    keepAliveMs: 0,
    heartbeatMs: 0,
    render: async (count) => {
      rendersStarted.push(count);
      await gate;
      rendersFinished.push(count);
      return png;
    },
  });
  const raw = await RawConnection.open(url);
  await raw.waitForHead();
  const boundary = boundaryOf(raw.head!.headers['content-type']);
  await eventually(() => raw.body.length > 0, 'the first body bytes');
  expect(rendersFinished).toEqual([]);
  expect(raw.body.toString('latin1')).toBe(`--${boundary}\r\n${PART_HEADERS}`);

  release();
  await eventually(() => readMultipart(raw.body, boundary).parts.length >= 1, 'a complete part after the renderer is released');
  expect(rendersStarted.length).toBeGreaterThan(0);
  const walk = readMultipart(raw.body, boundary);
  expect(raw.body.subarray(walk.parts[0].start, walk.parts[0].end).equals(png)).toBe(true);
  raw.destroy();
});

test('the first frame follows the headers without waiting for the keep-alive', async () => {
  const { url } = await startCounterApp({ keepAliveMs: 60_000, heartbeatMs: 0 });
  const viewer = await Viewer.open(url);
  expect(viewer.status).toBe(200);
  // Well under the 60 s keep-alive: the first frame is written as the stream opens.
  await viewer.waitForFrames(1, 10_000);
  expect(() => decodePng(viewer.frames[0])).not.toThrow();
  await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1', 10_000);
  viewer.close();
});

describe('the first frame of a joining viewer', () => {
  test('a second viewer gets the frame for 2 as its first part, without waiting for any render', async () => {
    // The default drawing, wrapped to see which counts were rendered and to hold renders back.
    const drawing = createCanvasRenderer(DEFAULT_IMAGE);
    const rendered = new Map<number, number>();
    let hold: Promise<void> | undefined;
    const { url } = await startCounterApp({
      keepAliveMs: 0,
      heartbeatMs: 0,
      render: async (count) => {
        if (hold) await hold;
        const png = await drawing.render(count);
        rendered.set(count, (rendered.get(count) ?? 0) + 1);
        return png;
      },
    });
    await eventually(() => rendered.has(1), 'the frame for 1 rendered ahead', 10_000);
    const first = await Viewer.open(url);
    await first.waitForFrames(1, 10_000);
    expect(showsCount(first.frames[0], 1)).toBe(true);
    await eventually(() => rendered.has(2), 'the frame for 2 rendered ahead', 10_000);

    // From now on no render can finish: the joining viewer must be served from what exists.
    let release!: () => void;
    hold = new Promise((resolve) => (release = resolve));
    const second = await Viewer.open(url);
    await second.waitForFrames(1, 10_000);
    expect(showsCount(second.frames[0], 2)).toBe(true);
    await first.waitForLastFrame((png) => showsCount(png, 2), 'the first viewer shown 2', 10_000);
    // The joining viewer cost no render of its own: 2 was drawn once.
    expect(rendered.get(2)).toBe(1);
    release();
    first.close();
    second.close();
  });

  test('a joining viewer is written a frame as its stream opens, before any change is broadcast', async () => {
    // A store that tells the counter about changes only when the test says so: no broadcast
    // can reach a joining viewer, so any frame it gets was written as its stream opened.
    const store = new MockStore({ heldBack: true });
    const drawing = createCanvasRenderer(DEFAULT_IMAGE);
    const rendered = new Set<number>();
    const { url } = await startCounterApp({
      keepAliveMs: 0,
      heartbeatMs: 0,
      store,
      render: async (count) => {
        const png = await drawing.render(count);
        rendered.add(count);
        return png;
      },
    });
    await eventually(() => rendered.has(1), 'the frame for 1 rendered ahead', 10_000);
    await sleep(50);
    // The frame of its own count, cached.
    const first = await Viewer.open(url);
    await first.waitForFrames(1, 10_000);
    expect(showsCount(first.frames[0], 1)).toBe(true);

    store.announce();
    await eventually(() => rendered.has(2), 'the frame for 2 rendered ahead', 10_000);
    await sleep(50);
    const second = await Viewer.open(url);
    await second.waitForFrames(1, 10_000);
    expect(showsCount(second.frames[0], 2)).toBe(true);
    // 3 is not cached: the latest shared frame (1, as nothing announced 2), corrected once announced.
    expect(rendered.has(3)).toBe(false);
    const third = await Viewer.open(url);
    await third.waitForFrames(1, 10_000);
    expect(showsCount(third.frames[0], 1)).toBe(true);
    await sleep(200);
    expect(third.frames.length).toBe(1);
    store.announce();
    for (const viewer of [first, second, third]) {
      await viewer.waitForLastFrame((png) => showsCount(png, 3), 'a frame showing 3', 10_000);
    }
    for (const viewer of [first, second, third]) viewer.close();
  });

  test('with the default renderer a second viewer gets a frame at once, and the frame for 2 once settled', async () => {
    const { url } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0 });
    const first = await Viewer.open(url);
    await first.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1', 10_000);
    await sleep(300);
    const second = await Viewer.open(url);
    await second.waitForFrames(1, 10_000);
    expect(showsCount(second.frames[0], 1) || showsCount(second.frames[0], 2)).toBe(true);
    await second.waitForLastFrame((png) => showsCount(png, 2), 'the second viewer shown 2', 10_000);
    await first.waitForLastFrame((png) => showsCount(png, 2), 'the first viewer shown 2', 10_000);
    first.close();
    second.close();
  });
});

/** A small valid PNG made with pngjs: 4x4, opaque blue. */
function decodeablePng(): Buffer {
  const png = new PNG({ width: 4, height: 4 });
  for (let i = 0; i < png.data.length; i += 4) png.data.set([0, 0, 255, 255], i);
  return PNG.sync.write(png);
}
