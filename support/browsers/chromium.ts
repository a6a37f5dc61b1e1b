import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { decodePng } from '../png.js';
import type { DecodedPng } from '../png.js';
import { PROGRAMS, programPath } from './programs.js';
import { BrowserProfile } from './profile.js';
import { Viewer } from './viewer.js';
import type { EngineBrowser, ImageBox } from './viewer.js';

/** Debian's Chromium, never a downloaded browser; `CHROMIUM_PATH` points elsewhere. */
export const DEFAULT_CHROMIUM_PATH = PROGRAMS.chromium.defaultPath;

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
  return programPath(PROGRAMS.chromium);
}

/** Chromium as Playwright's own `Browser` (for tests that drive it directly). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
}

const wrappers = new WeakMap<Browser, ChromiumBrowser>();

/** Runs on a new page before it navigates (to listen to its network). */
export type BeforeNavigation = (page: Page) => Promise<void>;

/** Chromium driven by Playwright; a profile is a `BrowserContext`. */
export class ChromiumBrowser implements EngineBrowser<ChromiumViewer> {
  readonly engine = 'chromium';
  private readonly profiles = new Set<ChromiumProfile>();

  private constructor(readonly playwright: Browser) {}

  static async launch(): Promise<ChromiumBrowser> {
    return ChromiumBrowser.of(await launchChromium());
  }

  /** The harness's view of a Playwright browser (one per browser). */
  static of(playwright: Browser): ChromiumBrowser {
    let browser = wrappers.get(playwright);
    if (!browser) wrappers.set(playwright, (browser = new ChromiumBrowser(playwright)));
    return browser;
  }

  get version(): string {
    return `chromium/${this.playwright.version()}`;
  }

  /** `beforeNavigation` runs on the new page first (to listen to its network). */
  async open(url: string, { beforeNavigation }: { beforeNavigation?: BeforeNavigation } = {}): Promise<ChromiumViewer> {
    const profile = await this.newProfile();
    return profile.openTab(url, true, beforeNavigation && ((viewer) => beforeNavigation(viewer.page)));
  }

  /** `ignoreHTTPSErrors`: accept a self-signed certificate (a test's own HTTPS proxy). */
  async newProfile({ ignoreHTTPSErrors = false } = {}): Promise<ChromiumProfile> {
    const context = await this.playwright.newContext({ viewport: { width: 640, height: 360 }, deviceScaleFactor: 1, ignoreHTTPSErrors });
    const profile = new ChromiumProfile(context, () => this.profiles.delete(profile));
    this.profiles.add(profile);
    return profile;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.profiles].map((profile) => profile.close()));
    await this.playwright.close();
  }
}

export class ChromiumProfile extends BrowserProfile<ChromiumViewer> {
  constructor(
    readonly context: BrowserContext,
    private readonly onClose: () => void,
  ) {
    super();
  }

  protected async newTab(ownsProfile: boolean): Promise<ChromiumViewer> {
    return new ChromiumViewer(this, await this.context.newPage(), ownsProfile);
  }

  protected async closeProfile(): Promise<void> {
    this.onClose();
    await this.context.close();
  }
}

/** One Chromium tab. */
export class ChromiumViewer extends Viewer {
  readonly engine = 'chromium';
  readonly context: BrowserContext;

  constructor(
    readonly profile: ChromiumProfile,
    readonly page: Page,
    ownsProfile: boolean,
  ) {
    super(profile, ownsProfile);
    this.context = profile.context;
  }

  /** Open `url` in a new profile of its own (as `browser.open`), running `beforeNavigation` on the page first. */
  static open(browser: ChromiumBrowser | Browser, url: string, beforeNavigation?: BeforeNavigation): Promise<ChromiumViewer> {
    return (browser instanceof ChromiumBrowser ? browser : ChromiumBrowser.of(browser)).open(url, { beforeNavigation });
  }

  protected evaluate(expression: string): Promise<unknown> {
    return this.page.evaluate(expression);
  }

  override async show(): Promise<void> {
    await this.page.bringToFront();
  }

  /** A page screenshot clipped to the box: what Playwright's element screenshot takes, without its per-call waits. */
  protected async capture(box: ImageBox): Promise<DecodedPng> {
    const clip = { x: box.x, y: box.y, width: box.width, height: box.height };
    return decodePng(await this.page.screenshot({ clip, animations: 'allow', caret: 'initial', scale: 'css', timeout: 5000 }));
  }

  protected async go(url: string): Promise<void> {
    await this.page.goto(url, { waitUntil: 'commit' });
  }

  protected async refresh(): Promise<void> {
    await this.page.reload({ waitUntil: 'commit' });
  }

  protected async closeTab(): Promise<void> {
    await this.page.close();
  }
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
