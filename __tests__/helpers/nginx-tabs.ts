import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { decodePng, expectedFrame } from '../../support/png.js';
import type { DecodedPng } from '../../support/png.js';

// Tabs of one browser profile in front of the nginx recipes. On purpose this needs only
// playwright-core and png.ts, not the shared browser helpers (which change under other work):
// the comparison below is theirs (composite over white, same tolerances), in a few lines.

/** Debian's Chromium, never a downloaded browser; `CHROMIUM_PATH` points elsewhere. */
export function launchDebianChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found: apt-get install -y chromium (looked for ${executablePath}; set CHROMIUM_PATH to use another binary)`);
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  });
}

/** One tab, with what the browser said about its document and its image stream. */
export interface Tab {
  readonly n: number;
  readonly page: Page;
  readonly cdp: CDPSession;
  /** Navigation start to DOMContentLoaded. */
  readonly loadMs: number;
  /** The document's `nextHopProtocol` ("h2" over HTTP/2, "http/1.1"). */
  readonly documentProtocol: string;
  /** The `<img>` response's protocol and connection (DevTools protocol; set when its headers arrive). */
  readonly image: { protocol?: string; connectionId?: number };
}

/** Open a new tab of `context` on `url`; fails naming the tab when its document does not load within `timeoutMs`. */
export async function openTab(context: BrowserContext, url: string, n: number, timeoutMs: number): Promise<Tab> {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const image: { protocol?: string; connectionId?: number } = {};
  cdp.on('Network.responseReceived', ({ response }) => {
    if (new URL(response.url).pathname === '/online.png') Object.assign(image, { protocol: response.protocol, connectionId: response.connectionId });
  });
  await cdp.send('Network.enable');
  const started = Date.now();
  const response = await page.goto(url, { waitUntil: 'domcontentloaded', timeout: timeoutMs }).catch((error: Error) => {
    throw new Error(`Tab ${n}'s document did not load within ${timeoutMs} ms (HTTP/1.1's six connections per host, all held by streams, would do this): ${error.message}`);
  });
  const loadMs = Date.now() - started;
  if (response?.status() !== 200) throw new Error(`Tab ${n}'s document answered ${response?.status()}, not 200.`);
  const documentProtocol = await page.evaluate<string>(`performance.getEntriesByType('navigation')[0]?.nextHopProtocol ?? ''`);
  return { n, page, cdp, loadMs, documentProtocol, image };
}

// Run in the page (a string: the tests are compiled without the DOM types).
const IMAGE_BOX = `(() => {
  const rect = document.querySelector('img')?.getBoundingClientRect();
  return rect && rect.width > 0 ? { x: Math.round(rect.x), y: Math.round(rect.y), width: Math.round(rect.width), height: Math.round(rect.height) } : null;
})()`;

/** A screenshot of the tab's `<img>` as it is on screen, decoded. */
async function imageOnScreen(page: Page): Promise<DecodedPng> {
  const box = await page.evaluate<{ x: number; y: number; width: number; height: number } | null>(IMAGE_BOX);
  if (!box) throw new Error('the page has no <img> with a box');
  return decodePng(await page.screenshot({ clip: box, animations: 'allow', caret: 'initial', scale: 'css', timeout: 5000 }));
}

/** A channel may be off by this much (antialiasing), and this many pixels may differ, for a frame to match. */
const PIXEL_TOLERANCE = 48;
const MAX_DIFFERING_PIXELS = 12;
const onWhite = new Map<number, DecodedPng>();

/** The renderer's frame for `count` composited over the page's white, as a screenshot shows it. */
function frameOnWhite(count: number): DecodedPng {
  let frame = onWhite.get(count);
  if (!frame) {
    const rgba = decodePng(expectedFrame(count));
    const data = Buffer.alloc(rgba.data.length);
    for (let i = 0; i < data.length; i += 4) {
      const alpha = rgba.data[i + 3] / 255;
      for (let c = 0; c < 3; c++) data[i + c] = Math.round(rgba.data[i + c] * alpha + 255 * (1 - alpha));
      data[i + 3] = 255;
    }
    onWhite.set(count, (frame = { width: rgba.width, height: rgba.height, data }));
  }
  return frame;
}

/** Whether a screenshot shows the renderer's frame for `count`. */
export function showsFrame(pixels: DecodedPng, count: number): boolean {
  const expected = frameOnWhite(count);
  if (pixels.width !== expected.width || pixels.height !== expected.height) return false;
  let differing = 0;
  for (let i = 0; i < pixels.data.length; i += 4) {
    const off = Math.max(...[0, 1, 2].map((c) => Math.abs(pixels.data[i + c] - expected.data[i + c])));
    if (off > PIXEL_TOLERANCE && ++differing > MAX_DIFFERING_PIXELS) return false;
  }
  return true;
}

function describeScreen(pixels: DecodedPng): string {
  const shown = Array.from({ length: 13 }, (_, count) => count).find((count) => showsFrame(pixels, count));
  return `${pixels.width}x${pixels.height}, ${shown === undefined ? 'none of the frames for 0 to 12' : `the frame for ${shown}`}`;
}

/**
 * Switch to the tab (as its reader would) and wait until its screen shows the renderer's
 * frame for `count`; resolves with the ms waited. Switching first: headless Chromium takes
 * about 2 s to screenshot a tab that is not in front, though its image is up to date.
 */
export async function waitForScreen(tab: Tab, count: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last = 'no screenshot yet';
  await tab.page.bringToFront();
  for (;;) {
    try {
      const pixels = await imageOnScreen(tab.page);
      if (showsFrame(pixels, count)) return Date.now() - started;
      last = describeScreen(pixels);
    } catch (error) {
      last = `a failed screenshot: ${(error as Error).message}`;
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for tab ${tab.n} to show the frame for ${count}; it shows ${last}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
