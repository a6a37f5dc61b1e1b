import type { Request } from 'express';
import { MemoryCountStore, OptionsError, userCounterMiddleware } from '../../lib/index.js';
import type { Options, RenderContext } from '../../lib/index.js';
import { createCanvasRenderer } from '../../lib/frames/frame-renderer.js';
import type { ImageSettings } from '../../lib/frames/frame-renderer.js';
import { startCounterApp } from '../helpers/counter-app.js';
import { DEFAULT_IMAGE, decodePng, expectedFrame, inkPixels, samePixels, showsCount } from '../../support/png.js';
import type { DecodedPng } from '../../support/png.js';
import { Viewer } from '../helpers/viewer.js';

// The image options: pixelRatio and ?dpr=, themes, locale, and the text template's context.

/** The built-in renderer's own frame for `count` with these settings: what a viewer should be shown. */
function drawn(count: number, settings: Partial<ImageSettings> = {}, pixelRatio = 1, room = ''): Buffer {
  return createCanvasRenderer({ ...DEFAULT_IMAGE, ...settings }, undefined, { pixelRatio, room }).renderSync!(count);
}

/** The rows and columns holding ink (alpha above 0). */
function inkBox(image: DecodedPng): { left: number; right: number; top: number; bottom: number } {
  const box = { left: Infinity, right: -Infinity, top: Infinity, bottom: -Infinity };
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      if (image.data[(y * image.width + x) * 4 + 3] === 0) continue;
      box.left = Math.min(box.left, x);
      box.right = Math.max(box.right, x);
      box.top = Math.min(box.top, y);
      box.bottom = Math.max(box.bottom, y);
    }
  }
  return box;
}

function pixel(image: DecodedPng, x: number, y: number): number[] {
  const at = (y * image.width + x) * 4;
  return [...image.data.subarray(at, at + 4)];
}

describe('pixel ratio', () => {
  test('?dpr=2 gives a frame twice as wide and high, the same text at twice the scale, inside the paddings', async () => {
    const app = await startCounterApp();
    const sharp = await Viewer.open(app.url, { path: '/online.png?dpr=2' });
    await sharp.waitForLastFrame((png) => samePixels(png, drawn(1, {}, 2)), 'a 2x frame showing 1');
    const twice = decodePng(sharp.lastFrame!);
    const once = decodePng(expectedFrame(1));
    expect([twice.width, twice.height]).toEqual([400, 60]);
    // Four times the pixels of ink, give or take antialiasing.
    const ratio = inkPixels(twice) / inkPixels(once);
    expect(ratio).toBeGreaterThan(3.4);
    expect(ratio).toBeLessThan(4.6);
    const [big, small] = [inkBox(twice), inkBox(once)];
    for (const side of ['left', 'right', 'top', 'bottom'] as const) expect(Math.abs(big[side] - 2 * small[side])).toBeLessThanOrEqual(3);
    // The paddings (a third of the CSS height, 10 px: 20 device pixels) stay clear.
    expect(big.left).toBeGreaterThanOrEqual(19);
    expect(big.right).toBeLessThanOrEqual(400 - 20);
    expect(big.top).toBeGreaterThan(0);
    expect(big.bottom).toBeLessThan(59);
  });

  test('the pixelRatio option sets the default; ?dpr= is rounded and clamped to 1..3', async () => {
    const app = await startCounterApp({ pixelRatio: 2 });
    const cases: [string, number][] = [['', 400], ['?dpr=1', 200], ['?dpr=1.6', 400], ['?dpr=3', 600], ['?dpr=9', 600], ['?dpr=0', 200], ['?dpr=abc', 400], ['?dpr=', 400]];
    for (const [query, width] of cases) {
      const viewer = await Viewer.open(app.url, { path: `/online.png${query}` });
      await viewer.waitForFrames(1);
      expect([query, decodePng(viewer.lastFrame!).width]).toEqual([query, width]);
      viewer.close();
    }
  });

  test('viewers of one room at two ratios each get their own size, showing the same count', async () => {
    const app = await startCounterApp();
    const plain = await Viewer.open(app.url);
    const sharp = await Viewer.open(app.url, { path: '/online.png?dpr=2' });
    await plain.waitForLastFrame((png) => showsCount(png, 2), 'the 1x viewer to show 2');
    await sharp.waitForLastFrame((png) => samePixels(png, drawn(2, {}, 2)), 'the 2x viewer to show 2');
    expect(plain.frames.every((png) => decodePng(png).width === 200)).toBe(true);
    expect(sharp.frames.every((png) => decodePng(png).width === 400)).toBe(true);
    expect(app.counter.stats().broadcasters).toBe(2);
    sharp.close();
    await plain.waitForLastFrame((png) => showsCount(png, 1), 'the 1x viewer to show 1');
    // The 2x broadcaster went with its last stream.
    expect(app.counter.stats().broadcasters).toBe(1);
  });

  test('a large image limits the ratio so a frame stays within 4096 pixels', () => {
    expect(() => userCounterMiddleware({ width: 2000, pixelRatio: 3 })).toThrow(/`pixelRatio` must be a whole number, from 1 to 2/);
    for (const pixelRatio of [0, 4, 1.5]) expect(() => userCounterMiddleware({ pixelRatio })).toThrow(OptionsError);
  });
});

describe('themes', () => {
  test.each([
    ['dark', [13, 17, 23, 255], [126, 231, 135]],
    ['light', [255, 255, 255, 255], [0, 100, 0]],
  ] as const)('%s: opaque background and text in the theme colours', async (theme, background, text) => {
    const app = await startCounterApp({ theme });
    const viewer = await Viewer.open(app.url);
    await viewer.waitForLastFrame((png) => samePixels(png, drawn(1, createdColours(theme))), `a ${theme} frame showing 1`);
    const image = decodePng(viewer.lastFrame!);
    expect(pixel(image, 0, 0)).toEqual(background);
    // The darkest (dark theme: lightest) pixel is the text colour itself, where the glyphs are solid.
    const solid = findPixel(image, (rgba) => rgba.slice(0, 3).every((v, i) => Math.abs(v - text[i]) <= 2));
    expect(solid).toBe(true);
  });

  test('color and background given beside a theme win', async () => {
    const app = await startCounterApp({ theme: 'dark', background: 'transparent' });
    const viewer = await Viewer.open(app.url);
    await viewer.waitForFrames(1);
    expect(pixel(decodePng(viewer.lastFrame!), 0, 0)[3]).toBe(0);
  });

  test('an unknown theme is an OptionsError naming the themes', () => {
    expect(() => userCounterMiddleware({ theme: 'blue' } as unknown as Options)).toThrow(/`theme` must be 'light' or 'dark'/);
  });
});

describe('number formatting', () => {
  test.each([
    ['en-US', 'Users online: 1,234'],
    ['de-DE', 'Users online: 1.234'],
  ])('locale %s draws 1234 as in %s', async (locale, text) => {
    const store = new MemoryCountStore();
    for (let i = 0; i < 1233; i++) store.increment('');
    const app = await startCounterApp({ locale, store });
    const viewer = await Viewer.open(app.url);
    await viewer.waitForLastFrame((png) => samePixels(png, drawn(0, { text: () => text })), `a frame drawing "${text}"`);
    expect(app.counter.count).toBe(1234);
  });

  test('without a locale the digits are plain (the frames of issue 2)', async () => {
    const store = new MemoryCountStore();
    for (let i = 0; i < 1233; i++) store.increment('');
    const app = await startCounterApp({ store });
    const viewer = await Viewer.open(app.url);
    await viewer.waitForLastFrame((png) => showsCount(png, 1234), 'a frame showing 1234');
  });

  test('a locale that is not a language tag is an OptionsError', () => {
    expect(() => userCounterMiddleware({ locale: 'not a locale!' })).toThrow(/`locale` must be a BCP 47 language tag/);
  });
});

describe('text template', () => {
  test('text gets the room, the formatted count and the pixel ratio, and draws them', async () => {
    const contexts: RenderContext[] = [];
    const text = (count: number, context: RenderContext) => {
      contexts.push(context);
      return `${context.room}: ${context.formattedCount}`;
    };
    const app = await startCounterApp({ text, locale: 'en-US', room: (req: Request) => req.query.page as string | undefined });
    const viewer = await Viewer.open(app.url, { path: '/online.png?page=Docs&dpr=2' });
    await viewer.waitForLastFrame((png) => samePixels(png, drawn(0, { text: () => 'Docs: 1' }, 2)), 'a frame drawing "Docs: 1"');
    expect(contexts).toContainEqual({ room: 'Docs', formattedCount: '1', pixelRatio: 2, ended: false });
  });

  test('a long room name reaches the text cut to 64 characters, ending in an ellipsis', async () => {
    const rooms = new Set<string>();
    const app = await startCounterApp({
      text: (count, { room }) => (rooms.add(room), `${count}`),
      room: (req: Request) => req.query.page as string | undefined,
    });
    const name = 'N'.repeat(128);
    const viewer = await Viewer.open(app.url, { path: `/online.png?page=${name}` });
    await viewer.waitForFrames(1);
    expect([...rooms].filter((room) => room !== '')).toEqual([`${'N'.repeat(63)}…`]);
  });

  test('a custom render gets the same context', async () => {
    const contexts: RenderContext[] = [];
    const app = await startCounterApp({
      locale: 'en-US',
      render: (count, context) => {
        contexts.push(context);
        return drawn(count, {}, context.pixelRatio);
      },
      room: (req: Request) => req.query.page as string | undefined,
    });
    const viewer = await Viewer.open(app.url, { path: '/online.png?page=%2Fblog&dpr=3' });
    await viewer.waitForLastFrame((png) => samePixels(png, drawn(1, {}, 3)), 'a 3x frame showing 1');
    expect(contexts).toContainEqual({ room: '/blog', formattedCount: '1', pixelRatio: 3, ended: false });
  });
});

function createdColours(theme: 'light' | 'dark'): Partial<ImageSettings> {
  return theme === 'dark'
    ? { color: 'rgb(126, 231, 135)', background: 'rgb(13, 17, 23)' }
    : { color: 'rgb(0, 100, 0)', background: 'rgb(255, 255, 255)' };
}

function findPixel(image: DecodedPng, match: (rgba: number[]) => boolean): boolean {
  for (let y = 0; y < image.height; y++) for (let x = 0; x < image.width; x++) if (match(pixel(image, x, y))) return true;
  return false;
}
