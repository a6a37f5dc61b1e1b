import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Express } from 'express';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import type { Options } from '../../lib/index.js';
import { startCounterApp } from './counter-app.js';
import type { CounterApp, StartOptions } from './counter-app.js';
import { decodePng, expectedFrame } from './png.js';
import type { DecodedPng } from './png.js';

/** Debian's Chromium, never a downloaded browser; `CHROMIUM_PATH` points elsewhere. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** Quiet, offline, and able to run as root in a container. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/** Where Chromium is; throws (a failure, never a skip) when it is not installed. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH;
  if (!existsSync(path)) {
    throw new Error(`Chromium not found: apt-get install -y chromium (looked for ${path}; set CHROMIUM_PATH to use another binary)`);
  }
  return path;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
}

/**
 * One browser for the test file that calls this (in `describe` or at the top level):
 * launched in `beforeAll`, closed in `afterAll`. Each viewer gets its own context.
 */
export function useChromium(): { readonly browser: Browser } {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    get browser() {
      if (!browser) throw new Error('Chromium was not launched (see the beforeAll error above).');
      return browser;
    },
  };
}

/** The page under test: nothing but the live image, as a site would embed it. */
export const IMAGE_PAGE_HTML =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Users online</title></head>' +
  '<body><img src="/online.png" width=200 height=30 alt="Users online"></body></html>';

/** Add the page at `/` (an `after` hook for `startCounterApp`). */
export function servePage(app: Express): void {
  app.get('/', (_req, res) => {
    res.type('html').send(IMAGE_PAGE_HTML);
  });
}

/** A counter app that also serves the image page at `/`. */
export function startPageApp(options?: Options, { before }: Pick<StartOptions, 'before'> = {}): Promise<CounterApp> {
  return startCounterApp(options, { before, after: servePage });
}

/** What was on screen where the `<img>` is, at one moment. */
export interface Sample {
  /** `Date.now()` when the screenshot came back: the frame was on screen by then. */
  t: number;
  /** The `<img>`'s `naturalWidth` at that moment (0: no image, or a broken one). */
  naturalWidth: number;
  /** The element screenshot, decoded (RGBA, opaque: the image over the page). */
  pixels: DecodedPng;
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

// Run in the page (strings: the tests are compiled without the DOM types).
const NATURAL_WIDTH = `document.querySelector('img')?.naturalWidth ?? 0`;
const IMAGE_BOX = `(() => {
  const rect = document.querySelector('img')?.getBoundingClientRect();
  return rect && rect.width > 0 ? { x: rect.x, y: rect.y, width: rect.width, height: rect.height } : null;
})()`;

const openViewers = new Set<ViewerPage>();

/** Stop every sampler and close every viewer still open (call from afterEach, before closeAllApps). */
export async function closeAllViewers(): Promise<void> {
  await Promise.all([...openViewers].map((viewer) => viewer.close()));
}

/** One person with the page open: a browser context of its own, so no cache is shared. */
export class ViewerPage {
  private box: Box | undefined;
  private readonly samplers = new Set<Sampler>();

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    /** `Date.now()` just before the navigation started. */
    public navigatedAt: number,
  ) {}

  /**
   * Open `url` in a new context; resolves once the navigation has committed.
   * `beforeNavigation` runs on the new page first (to listen to its network).
   */
  static async open(browser: Browser, url: string, beforeNavigation?: (page: Page) => Promise<void>): Promise<ViewerPage> {
    const context = await browser.newContext({ viewport: { width: 640, height: 360 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await beforeNavigation?.(page);
    const viewer = new ViewerPage(context, page, Date.now());
    openViewers.add(viewer);
    await page.goto(url, { waitUntil: 'commit' });
    return viewer;
  }

  /** Reload the page; resolves once the new document has committed. */
  async reload(): Promise<void> {
    this.box = undefined;
    this.navigatedAt = Date.now();
    await this.page.reload({ waitUntil: 'commit' });
  }

  /**
   * An element screenshot of the `<img>` (a page screenshot clipped to its box, which
   * is what Playwright's element screenshot takes, without its per-call waits) and its
   * `naturalWidth`, at the same moment.
   */
  async sample(): Promise<Sample> {
    const box = (this.box ??= await this.imageBox());
    const [shot, naturalWidth] = await Promise.all([
      this.page.screenshot({ clip: box, animations: 'allow', caret: 'initial', scale: 'css', timeout: 5000 }),
      this.page.evaluate<number>(NATURAL_WIDTH),
    ]);
    return { t: Date.now(), naturalWidth, pixels: decodePng(shot) };
  }

  /** Sample every `intervalMs` (or back to back when a screenshot takes longer) until stopped. */
  startSampling(intervalMs = 50, options: SamplerOptions = {}): Sampler {
    const sampler = new Sampler(this, intervalMs, options);
    this.samplers.add(sampler);
    return sampler;
  }

  /** Leave: stop sampling and close the context (as closing the window does). */
  async close(): Promise<void> {
    openViewers.delete(this);
    await Promise.all([...this.samplers].map((sampler) => sampler.stop()));
    await this.context.close();
  }

  /** The `<img>`'s box, polled with `evaluate` (faster than a selector wait, which would delay the first sample). */
  private async imageBox(): Promise<Box> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const box = await this.page.evaluate<Box | null>(IMAGE_BOX);
      if (box) return { x: Math.round(box.x), y: Math.round(box.y), width: Math.round(box.width), height: Math.round(box.height) };
      if (Date.now() > deadline) throw new Error('The page has no <img> with a box after 5 s.');
      await sleep(10);
    }
  }
}

export interface SamplerOptions {
  /** Keep only this many of the latest samples (a long run); default: all. */
  keepLast?: number;
  /** Called with each sample as it is taken. */
  onSample?: (sample: Sample) => void;
}

/** Samples one page's `<img>` in the background, keeping the samples. */
export class Sampler {
  /** The samples kept, oldest first. */
  readonly samples: Sample[] = [];
  /** The latest sampling errors (at most 100). */
  readonly errors: Error[] = [];
  /** How many samples failed in all (a screenshot during a navigation, a closed page). */
  failed = 0;
  /** How many samples were taken in all (some may no longer be kept). */
  taken = 0;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly viewer: ViewerPage,
    private readonly intervalMs: number,
    private readonly options: SamplerOptions = {},
  ) {
    this.loop = this.run();
  }

  /**
   * The first sample taken after `since` (default: now) that satisfies `check`, waiting
   * up to `timeoutMs`. The error names what was on screen instead.
   */
  async waitFor(check: (sample: Sample) => boolean, what: string, { since = Date.now(), timeoutMs = 2000 } = {}): Promise<Sample> {
    const deadline = since + timeoutMs;
    let seen = 0;
    for (;;) {
      const dropped = this.taken - this.samples.length;
      for (seen = Math.max(seen, dropped); seen < this.taken; seen++) {
        const sample = this.samples[seen - dropped];
        if (sample.t > since && check(sample)) return sample;
      }
      if (Date.now() > deadline) {
        const last = this.samples[this.samples.length - 1];
        const errors = this.errors.length ? `; sampling errors: ${this.errors.map((e) => e.message).join(' | ')}` : '';
        throw new Error(`Timed out after ${timeoutMs} ms waiting for the screen to show ${what}; last sample: ${last ? describeSample(last, since) : 'none'}${errors}`);
      }
      await sleep(10);
    }
  }

  /** The samples taken after `since`. */
  after(since: number): Sample[] {
    return this.samples.filter((sample) => sample.t > since);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private keep(sample: Sample): void {
    this.samples.push(sample);
    this.taken += 1;
    if (this.samples.length > (this.options.keepLast ?? Infinity)) this.samples.shift();
    this.options.onSample?.(sample);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const started = Date.now();
      try {
        const sample = await this.viewer.sample();
        if (!this.stopped) this.keep(sample);
      } catch (error) {
        if (!this.stopped) {
          this.failed += 1;
          this.errors.push(error as Error);
          if (this.errors.length > 100) this.errors.shift();
        }
      }
      const wait = started + this.intervalMs - Date.now();
      if (wait > 0 && !this.stopped) await sleep(wait);
    }
  }
}

/*
 * Comparing the screen with the renderer's own frame. The screenshot is the frame
 * composited over the page's white background, so the expected RGBA frame is
 * composited over white first. Chromium may round or antialias a little differently:
 * a pixel differs when a channel is off by more than PIXEL_TOLERANCE, and a frame
 * matches when at most MAX_DIFFERING_PIXELS differ. (Frames for 1 and 2 differ in
 * about a hundred pixels at this tolerance; the tests check that the comparison
 * tells them apart.)
 */
export const PIXEL_TOLERANCE = 48;
export const MAX_DIFFERING_PIXELS = 12;

const framesOnWhite = new Map<number, DecodedPng>();

/** The renderer's frame for `count` as it looks on a white page. */
export function expectedOnWhite(count: number): DecodedPng {
  let frame = framesOnWhite.get(count);
  if (!frame) {
    frame = overWhite(decodePng(expectedFrame(count)));
    framesOnWhite.set(count, frame);
  }
  return frame;
}

function overWhite(image: DecodedPng): DecodedPng {
  const data = Buffer.alloc(image.data.length);
  for (let i = 0; i < image.data.length; i += 4) {
    const alpha = image.data[i + 3] / 255;
    for (let c = 0; c < 3; c++) data[i + c] = Math.round(image.data[i + c] * alpha + 255 * (1 - alpha));
    data[i + 3] = 255;
  }
  return { width: image.width, height: image.height, data };
}

/** How many pixels of `pixels` differ from the frame for `count` on white (Infinity: another size). */
export function differingPixels(pixels: DecodedPng, count: number): number {
  const expected = expectedOnWhite(count);
  if (pixels.width !== expected.width || pixels.height !== expected.height) return Infinity;
  let differing = 0;
  for (let i = 0; i < pixels.data.length; i += 4) {
    const off = Math.max(
      Math.abs(pixels.data[i] - expected.data[i]),
      Math.abs(pixels.data[i + 1] - expected.data[i + 1]),
      Math.abs(pixels.data[i + 2] - expected.data[i + 2]),
    );
    if (off > PIXEL_TOLERANCE) differing += 1;
  }
  return differing;
}

/** Whether the screen shows the renderer's frame for `count`. */
export function screenShows(sample: Sample | DecodedPng, count: number): boolean {
  const pixels = 'pixels' in sample ? sample.pixels : sample;
  return differingPixels(pixels, count) <= MAX_DIFFERING_PIXELS;
}

/** Of `candidates`, the count whose frame is closest to what is on screen. */
export function closestCount(pixels: DecodedPng, candidates: readonly number[]): { count: number; differing: number } {
  let best = { count: NaN, differing: Infinity };
  for (const count of candidates) {
    const differing = differingPixels(pixels, count);
    if (differing < best.differing) best = { count, differing };
  }
  return best;
}

/** A pixel is ink when it is clearly darker than the white page. */
const INK_BELOW = 160;

function isInk(image: DecodedPng, x: number, y: number): boolean {
  const i = (y * image.width + x) * 4;
  return Math.min(image.data[i], image.data[i + 1], image.data[i + 2]) < INK_BELOW;
}

/**
 * Where the words "Users online:" are: the box of the pixels that are ink in the
 * frames for both 1 and 2 (the digits differ, the words do not).
 */
export const TEXT_BOX: Box = (() => {
  const [one, two] = [expectedOnWhite(1), expectedOnWhite(2)];
  let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
  for (let y = 0; y < one.height; y++) {
    for (let x = 0; x < one.width; x++) {
      if (isInk(one, x, y) && isInk(two, x, y)) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
  }
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
})();

/** Ink pixels inside TEXT_BOX. */
export function inkInText(pixels: DecodedPng): number {
  let ink = 0;
  for (let y = TEXT_BOX.y; y < Math.min(pixels.height, TEXT_BOX.y + TEXT_BOX.height); y++) {
    for (let x = TEXT_BOX.x; x < Math.min(pixels.width, TEXT_BOX.x + TEXT_BOX.width); x++) {
      if (isInk(pixels, x, y)) ink += 1;
    }
  }
  return ink;
}

/** A sample shows text when its text box holds at least half the ink the rendered words have. */
export const MIN_TEXT_INK = Math.ceil(inkInText(expectedOnWhite(1)) / 2);

/** Not blank, not broken: the image has loaded and the words are drawn. */
export function showsText(sample: Sample): boolean {
  return sample.naturalWidth > 0 && inkInText(sample.pixels) >= MIN_TEXT_INK;
}

/** One line about a sample, for failure messages and reports. */
export function describeSample(sample: Sample, since?: number, candidates: readonly number[] = [0, 1, 2, 3, 4, 5, 11]): string {
  const when = since === undefined ? `t=${sample.t}` : `t=+${sample.t - since} ms`;
  const closest = closestCount(sample.pixels, candidates);
  return `${when} naturalWidth=${sample.naturalWidth} textInk=${inkInText(sample.pixels)}/${MIN_TEXT_INK} closest frame=${closest.count} (${closest.differing} px differ)`;
}

/** Encode a sample's pixels as a PNG (to save evidence). */
export function samplePng(sample: Sample): Buffer {
  const png = new PNG({ width: sample.pixels.width, height: sample.pixels.height });
  sample.pixels.data.copy(png.data);
  return PNG.sync.write(png);
}

/** A page opened and watched from navigation until it shows its settled frame. */
export interface WatchedPage {
  readonly viewer: ViewerPage;
  readonly sampler: Sampler;
  /** The first sample with the image loaded and its words drawn. */
  readonly first: Sample;
  /** Navigation start to `first`. */
  readonly visibleMs: number;
  /** The first sample showing the frame for the expected count. */
  readonly settled: Sample;
  /** Navigation start to `settled`. */
  readonly settledMs: number;
}

/**
 * Open `url` in a new viewer, sample its `<img>`, and wait (each step up to
 * `timeoutMs`) for the first frame and then for the frame for `count`.
 */
export async function openAndWatch(
  browser: Browser,
  url: string,
  {
    count = 1,
    timeoutMs = 2000,
    intervalMs = 50,
    beforeNavigation,
    sampling,
  }: { count?: number; timeoutMs?: number; intervalMs?: number; beforeNavigation?: (page: Page) => Promise<void>; sampling?: SamplerOptions } = {},
): Promise<WatchedPage> {
  const viewer = await ViewerPage.open(browser, url, beforeNavigation);
  const sampler = viewer.startSampling(intervalMs, sampling);
  const since = viewer.navigatedAt;
  const first = await sampler.waitFor(showsText, 'a loaded image with its words drawn', { since, timeoutMs });
  const settled = await sampler.waitFor((sample) => screenShows(sample, count), `the frame for ${count}`, { since, timeoutMs: timeoutMs + (first.t - since) });
  return { viewer, sampler, first, visibleMs: first.t - since, settled, settledMs: settled.t - since };
}

/** A change on the watched page: what caused it, and when the screen showed it. */
export interface ScreenChange {
  /** When the cause started (the second viewer's navigation, or the close). */
  readonly startedAt: number;
  /** The first sample showing the new frame. */
  readonly sample: Sample;
  /** `startedAt` to `sample.t`. */
  readonly ms: number;
}

/** Another viewer opens `url`; resolves when `watched` shows the frame for `count`. */
export async function joinAndWait(browser: Browser, url: string, watched: Sampler, count: number, timeoutMs = 2000): Promise<{ viewer: ViewerPage; change: ScreenChange }> {
  const viewer = await ViewerPage.open(browser, url);
  const startedAt = viewer.navigatedAt;
  const sample = await watched.waitFor((s) => screenShows(s, count), `the frame for ${count} after a viewer joined`, { since: startedAt, timeoutMs });
  return { viewer, change: { startedAt, sample, ms: sample.t - startedAt } };
}

/** `viewer` closes its window; resolves when `watched` shows the frame for `count`. */
export async function leaveAndWait(viewer: ViewerPage, watched: Sampler, count: number, timeoutMs = 2000): Promise<ScreenChange> {
  const startedAt = Date.now();
  await viewer.close();
  const sample = await watched.waitFor((s) => screenShows(s, count), `the frame for ${count} after a viewer left`, { since: startedAt, timeoutMs });
  return { startedAt, sample, ms: sample.t - startedAt };
}

/** A step of a churn run: another viewer opens, the oldest other viewer closes, or nothing happens for a while. */
export type ChurnStep = 'join' | 'leave' | 'quiet';

/**
 * Run `plan` against the page `watched` (which alone is open at the start): each join
 * or leave waits for the watched page to show the new count, then pauses `pauseMs`;
 * a quiet step waits `quietMs` (longer than the keep-alive, so re-sends happen).
 * Ends with every other viewer closed. Resolves with the screen change of each step.
 */
export async function churn(
  browser: Browser,
  url: string,
  watched: Sampler,
  plan: readonly ChurnStep[],
  { pauseMs = 400, quietMs = 3500 } = {},
): Promise<ScreenChange[]> {
  const others: ViewerPage[] = [];
  const changes: ScreenChange[] = [];
  for (const step of [...plan, ...Array<ChurnStep>(plan.length).fill('leave')]) {
    if (step === 'quiet') {
      await sleep(quietMs);
      continue;
    }
    if (step === 'join') {
      const { viewer, change } = await joinAndWait(browser, url, watched, others.length + 2);
      others.push(viewer);
      changes.push(change);
    } else {
      const leaving = others.shift();
      if (!leaving) continue;
      changes.push(await leaveAndWait(leaving, watched, others.length + 1));
    }
    await sleep(pauseMs);
  }
  return changes;
}

/** The chunks of the `/online.png` response as the browser received them (CDP `Network.dataReceived`). */
export async function recordImageData(page: Page): Promise<{ t: number; bytes: number }[]> {
  const chunks: { t: number; bytes: number }[] = [];
  const cdp = await page.context().newCDPSession(page);
  const imageRequests = new Set<string>();
  cdp.on('Network.requestWillBeSent', (event) => {
    if (new URL(event.request.url).pathname === '/online.png') imageRequests.add(event.requestId);
  });
  cdp.on('Network.dataReceived', (event) => {
    if (imageRequests.has(event.requestId)) chunks.push({ t: Date.now(), bytes: event.dataLength });
  });
  await cdp.send('Network.enable');
  return chunks;
}

/** Median and p90 of some milliseconds. */
export function summarize(ms: readonly number[]): { n: number; median: number; p90: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { n: sorted.length, median: at(0.5), p90: at(0.9), max: sorted[sorted.length - 1] };
}

/** The demo (`demo/server.ts`) running as a child process, as `npm run demo` runs it. */
export interface DemoServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Everything it printed. */
  readonly output: () => string;
  /** SIGTERM (the demo closes its counter), SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
}

/** A port nobody listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Start `npx tsx demo/server.ts` on a free port on 127.0.0.1; resolves once it listens. */
export async function startDemo(timeoutMs = 30_000): Promise<DemoServer> {
  const port = await freePort();
  const root = path.resolve(__dirname, '..', '..');
  // Its own process group, so that stopping it reaches tsx and node behind npx.
  const child = spawn('npx', ['tsx', 'demo/server.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // Already gone.
    }
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`The demo did not start within ${timeoutMs} ms. It printed:\n${output}`)), timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      void stop().then(() => reject(error));
    };
    const onOutput = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes(`http://127.0.0.1:${port}/`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    child.once('exit', (code, sig) => fail(new Error(`The demo exited (${code ?? sig}) before listening. It printed:\n${output}`)));
  });
  return { url: `http://127.0.0.1:${port}`, output: () => output, stop };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
