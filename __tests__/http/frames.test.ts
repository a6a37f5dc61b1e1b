// What the frames of the stream show: real PNGs (decoded by pngjs) of the right size,
// with ink where the text is, the count of the moment, the drawing options applied, and a
// custom render's PNG as it is. A render that fails: render-errors.test.ts.
import { PNG } from 'pngjs';
import { createCanvasRenderer } from '../../lib/frames/frame-renderer.js';
import type { ImageSettings } from '../../lib/frames/frame-renderer.js';
import { startCounterApp } from '../helpers/counter-app.js';
import { DEFAULT_IMAGE, decodePng, expectedFrame, inkPixels, samePixels, showsCount } from '../../support/png.js';
import type { DecodedPng } from '../../support/png.js';
import { Viewer } from '../helpers/viewer.js';

/** The built-in renderer's own frame for `count` with some settings changed. */
function frameWith(changes: Partial<ImageSettings>, count: number): Buffer {
  return createCanvasRenderer({ ...DEFAULT_IMAGE, ...changes }).renderSync!(count);
}

/** The RGBA of the pixel at (x, y). */
function pixel(image: DecodedPng, x: number, y: number): number[] {
  const at = (y * image.width + x) * 4;
  return [...image.data.subarray(at, at + 4)];
}

/** Every pixel whose alpha is above `minAlpha`, as RGBA. */
function inked(image: DecodedPng, minAlpha = 128): number[][] {
  const pixels: number[][] = [];
  for (let i = 0; i < image.data.length; i += 4) {
    if (image.data[i + 3] > minAlpha) pixels.push([...image.data.subarray(i, i + 4)]);
  }
  return pixels;
}

/** A PNG drawn with pngjs, its colour a function of the count: what a custom renderer returns. */
function customPng(count: number): Buffer {
  const png = new PNG({ width: 16, height: 8 });
  for (let i = 0; i < png.data.length; i += 4) png.data.set([(count * 50) % 256, 80, 200, 255], i);
  return PNG.sync.write(png);
}

describe('the default frames', () => {
  test('every part of a stream is a 200×30 PNG with ink where the text is and transparent around it', async () => {
    const { url } = await startCounterApp({ keepAliveMs: 100, heartbeatMs: 20 });
    const viewer = await Viewer.open(url);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1', 10_000);
    const second = await Viewer.open(url);
    await viewer.waitForLastFrame((png) => showsCount(png, 2), 'a frame showing 2', 10_000);
    second.close();
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1 again', 10_000);
    await viewer.waitForFrames(viewer.frames.length + 2, 10_000);

    expect(viewer.frames.length).toBeGreaterThanOrEqual(5);
    for (const png of viewer.frames) {
      const image = decodePng(png);
      expect([image.width, image.height]).toEqual([200, 30]);
      // "Users online: N" starts at the left padding: plenty of ink in the left half.
      expect(inkPixels(image, { x: 0, y: 0, width: 100, height: 30 })).toBeGreaterThan(150);
      // Nothing at all right of the text, in the right padding, or above and below the letters.
      expect(inkPixels(image, { x: 160, y: 0, width: 40, height: 30 }, 0)).toBe(0);
      expect(inkPixels(image, { x: 0, y: 0, width: 200, height: 3 }, 0)).toBe(0);
      expect(inkPixels(image, { x: 0, y: 27, width: 200, height: 3 }, 0)).toBe(0);
      expect(inkPixels(image, { x: 0, y: 0, width: 8, height: 30 }, 0)).toBe(0);
      // 0 only as a stale first frame, when the stream opened before 1 was drawn.
      expect([0, 1, 2].some((count) => showsCount(png, count))).toBe(true);
    }
    const firstShown = viewer.frames.findIndex((png) => !showsCount(png, 0));
    expect(viewer.frames.slice(firstShown).some((png) => showsCount(png, 0))).toBe(false);
  });

  test('the frame after a second viewer joins shows 2, and after it leaves shows 1', async () => {
    const { url } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0 });
    const viewer = await Viewer.open(url);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1', 10_000);
    expect(showsCount(viewer.lastFrame!, 2)).toBe(false);

    const second = await Viewer.open(url);
    await viewer.waitForLastFrame((png) => showsCount(png, 2), 'a frame showing 2 to the first viewer', 10_000);
    await second.waitForLastFrame((png) => showsCount(png, 2), 'a frame showing 2 to the second viewer', 10_000);
    expect(showsCount(viewer.lastFrame!, 1)).toBe(false);

    second.close();
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1 after the second viewer left', 10_000);
    viewer.close();
  });

  test('ten viewers see 10, and the last one left sees 1', async () => {
    const { url } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0 });
    const viewers = await Promise.all(Array.from({ length: 10 }, () => Viewer.open(url)));
    for (const viewer of viewers) await viewer.waitForLastFrame((png) => showsCount(png, 10), 'a frame showing 10', 10_000);
    for (const viewer of viewers.slice(1)) viewer.close();
    await viewers[0].waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1', 10_000);
    viewers[0].close();
  });
});

describe('drawing options', () => {
  test('width and height set the size of every frame', async () => {
    const { url } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0, width: 300, height: 50 });
    const viewer = await Viewer.open(url);
    const expected = frameWith({ width: 300, height: 50 }, 1);
    await viewer.waitForLastFrame((png) => samePixels(png, expected), 'a 300×50 frame showing 1', 10_000);
    for (const png of viewer.frames) {
      const image = decodePng(png);
      expect([image.width, image.height]).toEqual([300, 50]);
      expect(inkPixels(image)).toBeGreaterThan(150);
    }
    viewer.close();
  });

  test('text changes what is drawn', async () => {
    const text = (count: number) => `${count} reading now`;
    const { url } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0, text });
    const viewer = await Viewer.open(url);
    const expected = frameWith({ text }, 1);
    expect(samePixels(expected, expectedFrame(1))).toBe(false);
    await viewer.waitForLastFrame((png) => samePixels(png, expected), 'a frame with the custom text for 1', 10_000);
    expect(showsCount(viewer.lastFrame!, 1)).toBe(false);
    expect(inkPixels(decodePng(viewer.lastFrame!))).toBeGreaterThan(100);
    viewer.close();
  });

  test('color gives ink of that colour', async () => {
    const { url } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0, color: 'rgb(255,0,0)' });
    const viewer = await Viewer.open(url);
    const expected = frameWith({ color: 'rgb(255,0,0)' }, 1);
    await viewer.waitForLastFrame((png) => samePixels(png, expected), 'a red frame showing 1', 10_000);
    const ink = inked(decodePng(viewer.lastFrame!));
    expect(ink.length).toBeGreaterThan(100);
    for (const [r, g, b] of ink) {
      expect(r).toBeGreaterThanOrEqual(200);
      expect(g).toBeLessThanOrEqual(40);
      expect(b).toBeLessThanOrEqual(40);
    }
    // The default is dark green, so the option really changed something.
    const defaultInk = inked(decodePng(expectedFrame(1)));
    expect(defaultInk.every(([r, g]) => g > r)).toBe(true);
    viewer.close();
  });

  test("background 'white' makes every pixel opaque, white away from the text", async () => {
    const { url } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0, background: 'white' });
    const viewer = await Viewer.open(url);
    const expected = frameWith({ background: 'white' }, 1);
    await viewer.waitForLastFrame((png) => samePixels(png, expected), 'a white frame showing 1', 10_000);
    const image = decodePng(viewer.lastFrame!);
    for (let i = 3; i < image.data.length; i += 4) expect(image.data[i]).toBe(255);
    for (const [x, y] of [[0, 0], [199, 0], [0, 29], [199, 29], [190, 15]]) expect(pixel(image, x, y)).toEqual([255, 255, 255, 255]);
    // The text is still there: dark pixels in the left half.
    let dark = 0;
    for (let y = 0; y < 30; y++) for (let x = 0; x < 100; x++) if (pixel(image, x, y)[0] < 128) dark += 1;
    expect(dark).toBeGreaterThan(100);
    viewer.close();
  });
});

describe('a custom render function', () => {
  test('the PNG it returns is the part, byte for byte, for each count', async () => {
    const { url } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0, render: customPng });
    const viewer = await Viewer.open(url);
    await viewer.waitForLastFrame((png) => png.equals(customPng(1)), 'the custom PNG for 1', 10_000);
    const second = await Viewer.open(url);
    await viewer.waitForLastFrame((png) => png.equals(customPng(2)), 'the custom PNG for 2', 10_000);
    second.close();
    await viewer.waitForLastFrame((png) => png.equals(customPng(1)), 'the custom PNG for 1 again', 10_000);
    for (const png of viewer.frames) expect([0, 1, 2].some((count) => png.equals(customPng(count)))).toBe(true);
    expect(decodePng(viewer.lastFrame!).width).toBe(16);
    viewer.close();
  });

  test('an async render function that returns a Uint8Array works too', async () => {
    const render = async (count: number) => new Uint8Array(customPng(count));
    const { url } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0, render });
    const viewer = await Viewer.open(url);
    await viewer.waitForLastFrame((png) => png.equals(customPng(1)), 'the custom PNG for 1', 10_000);
    viewer.close();
  });
});
