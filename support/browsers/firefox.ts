import Module from 'node:module';
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import { decodePng } from '../png.js';
import type { DecodedPng } from '../png.js';
import { PROGRAMS, programPath } from './programs.js';
import { BrowserProfile } from './profile.js';
import { Viewer } from './viewer.js';
import type { EngineBrowser, ImageBox } from './viewer.js';

/**
 * Puppeteer ships ES modules only, which Jest's own `require` cannot load (before Node 24.9;
 * Jest also answers `createRequire` and `process.getBuiltinModule` with its own). Node's
 * loader can (Node 20.19+ requires ES modules synchronously), and Jest's `Module` class
 * extends Node's, so a module made from it loads through Node, outside Jest's registry.
 */
function loadPuppeteer(): typeof import('puppeteer-core') {
  const NodeModule = Module as unknown as (new (id: string) => { filename: string; paths: string[]; require(id: string): unknown }) & {
    _nodeModulePaths(from: string): string[];
  };
  const loader = new NodeModule(__filename);
  loader.filename = __filename;
  loader.paths = NodeModule._nodeModulePaths(__dirname);
  return loader.require('puppeteer-core') as typeof import('puppeteer-core');
}

/**
 * Debian's Firefox ESR driven by Puppeteer over WebDriver BiDi; a profile is a browser
 * context (`createBrowserContext`), a viewer one of its tabs.
 */
export class FirefoxBrowser implements EngineBrowser<FirefoxViewer> {
  readonly engine = 'firefox';
  private readonly profiles = new Set<FirefoxProfile>();

  private constructor(
    readonly puppeteer: Browser,
    readonly version: string,
  ) {}

  static async launch(): Promise<FirefoxBrowser> {
    const browser = await loadPuppeteer().default.launch({ browser: 'firefox', executablePath: programPath(PROGRAMS.firefox), headless: true });
    return new FirefoxBrowser(browser, await browser.version());
  }

  async open(url: string): Promise<FirefoxViewer> {
    const profile = await this.newProfile();
    return profile.openTab(url, true);
  }

  async newProfile(): Promise<FirefoxProfile> {
    const context = await this.puppeteer.createBrowserContext();
    const profile = new FirefoxProfile(context, () => this.profiles.delete(profile));
    this.profiles.add(profile);
    return profile;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.profiles].map((profile) => profile.close()));
    await this.puppeteer.close();
  }
}

export class FirefoxProfile extends BrowserProfile<FirefoxViewer> {
  constructor(
    readonly context: BrowserContext,
    private readonly onClose: () => void,
  ) {
    super();
  }

  protected async newTab(ownsProfile: boolean): Promise<FirefoxViewer> {
    return this.viewerOf(await this.context.newPage(), ownsProfile);
  }

  /** A tab the page of `opener` opens on `url` with `window.open`, as a reader's click would. */
  async openFrom(opener: FirefoxViewer, url: string): Promise<FirefoxViewer> {
    const opened = this.context.waitForTarget((target) => target.type() === 'page' && target.url() === url);
    await opener.page.evaluate(`window.open(${JSON.stringify(url)}, '_blank'); undefined`);
    const page = await (await opened).page();
    if (!page) throw new Error(`window.open(${url}) made no page.`);
    const viewer = await this.viewerOf(page, false);
    viewer.navigatedAt = Date.now();
    return this.adopt(viewer);
  }

  private async viewerOf(page: Page, ownsProfile: boolean): Promise<FirefoxViewer> {
    await page.setViewport({ width: 640, height: 360, deviceScaleFactor: 1 });
    return new FirefoxViewer(this, page, ownsProfile);
  }

  protected async closeProfile(): Promise<void> {
    this.onClose();
    await this.context.close();
  }
}

/** One Firefox tab. */
export class FirefoxViewer extends Viewer {
  readonly engine = 'firefox';

  constructor(
    readonly profile: FirefoxProfile,
    readonly page: Page,
    ownsProfile: boolean,
  ) {
    super(profile, ownsProfile);
  }

  protected evaluate(expression: string): Promise<unknown> {
    return this.page.evaluate(expression);
  }

  /**
   * A page screenshot clipped to the box. (Drawing a multipart image on a canvas gives
   * Firefox's first frame, not the one on screen, so the pixels come from a screenshot.)
   */
  protected async capture(box: ImageBox): Promise<DecodedPng> {
    const clip = { x: box.x, y: box.y, width: box.width, height: box.height };
    return decodePng(Buffer.from(await this.page.screenshot({ clip })));
  }

  // The stream never ends, so 'load' may never come; the DOM is enough to have the `<img>` requested.
  protected async go(url: string): Promise<void> {
    await this.page.goto(url, { waitUntil: 'domcontentloaded', timeout: 10_000 });
  }

  protected async refresh(): Promise<void> {
    await this.page.reload({ waitUntil: 'domcontentloaded', timeout: 10_000 });
  }

  protected async closeTab(): Promise<void> {
    await this.page.close();
  }
}
