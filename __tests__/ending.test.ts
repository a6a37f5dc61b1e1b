// An ended stream says so, in a real browser: an <img> keeps the last part of a stream the server
// ended (close(), maxStreamMs) and never reconnects, so that part must be the count drawn as ended.
// Chromium through playwright-core, screenshots of the <img> compared with the renderer's frames.
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import type { Express } from 'express';
import { closeAllApps, eventually, startCounterApp } from './helpers/counter-app.js';
import type { CounterApp } from './helpers/counter-app.js';
import { decodePng, expectedEndedFrame, expectedFrame } from './helpers/png.js';
import type { DecodedPng } from './helpers/png.js';
import type { Options } from '../lib/index.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];
/** A browser may round or antialias a little differently: a channel may be this far off... */
const PIXEL_TOLERANCE = 48;
/** ...in at most this many pixels. */
const MAX_DIFFERING_PIXELS = 12;

let browser: Browser | undefined;
const pages: Page[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}, 60_000);

afterEach(async () => {
  await Promise.all(pages.splice(0).map((page) => page.context().close()));
  await closeAllApps();
});

afterAll(async () => {
  await browser?.close();
});

function servePage(app: Express): void {
  app.get('/', (_req, res) => {
    res.send('<!doctype html><body style="margin:0;background:#fff"><img src="/online.png" width=200 height=30 alt="Users online"></body>');
  });
}

async function openPage(options: Options): Promise<{ app: CounterApp; page: Page }> {
  const app = await startCounterApp(options, { after: servePage });
  // A context of its own: a fresh cookie jar, as a new visitor has.
  const context = await browser!.newContext({ viewport: { width: 400, height: 100 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  pages.push(page);
  await page.goto(`${app.url}/`);
  return { app, page };
}

/** A PNG frame composited over the white page, as the screen shows it. */
function onWhite(png: Buffer): DecodedPng {
  const image = decodePng(png);
  const data = Buffer.alloc(image.data.length);
  for (let i = 0; i < data.length; i += 4) {
    const alpha = image.data[i + 3] / 255;
    for (let c = 0; c < 3; c++) data[i + c] = Math.round(image.data[i + c] * alpha + 255 * (1 - alpha));
    data[i + 3] = 255;
  }
  return { ...image, data };
}

function matches(screen: DecodedPng, expected: DecodedPng): boolean {
  if (screen.width !== expected.width || screen.height !== expected.height) return false;
  let differing = 0;
  for (let i = 0; i < expected.data.length; i += 4) {
    const off = Math.max(...[0, 1, 2].map((c) => Math.abs(expected.data[i + c] - screen.data[i + c])));
    if (off > PIXEL_TOLERANCE) differing += 1;
  }
  return differing <= MAX_DIFFERING_PIXELS;
}

/** What the <img> shows: the live frame of a count, the ended frame of one, or something else. */
async function screen(page: Page): Promise<string> {
  const shot = decodePng(await page.locator('img').screenshot());
  for (let count = 0; count <= 3; count++) {
    if (matches(shot, onWhite(expectedFrame(count)))) return `live ${count}`;
    if (matches(shot, onWhite(expectedEndedFrame(count)))) return `ended ${count}`;
  }
  return `something else (${shot.width}x${shot.height})`;
}

/** Sample the <img> until it shows `wanted`; the error says what it showed last. */
async function waitForScreen(page: Page, wanted: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing yet';
  for (;;) {
    last = await screen(page).catch((error: Error) => `an error: ${error.message}`);
    if (last === wanted) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for the image to show ${wanted}; it showed ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('after close() (a deploy) the image keeps the count it showed, dimmed', async () => {
  const { app, page } = await openPage({});
  await waitForScreen(page, 'live 1');
  await app.counter.close();
  await waitForScreen(page, 'ended 1');
  // It stays: the stream is over, the image is not broken.
  expect(await page.locator('img').evaluate((img) => (img as { naturalWidth: number }).naturalWidth)).toBe(200);
  expect(await screen(page)).toBe('ended 1');
}, 60_000);

test('after maxStreamMs the image shows the count it showed, dimmed, and the viewer is no longer counted', async () => {
  const { app, page } = await openPage({ maxStreamMs: 2000 });
  await waitForScreen(page, 'live 1');
  await waitForScreen(page, 'ended 1');
  await eventually(() => app.counter.count === 0, 'count 0');
}, 60_000);
