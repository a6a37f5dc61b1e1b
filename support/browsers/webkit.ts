import { decodePng } from '../png.js';
import type { DecodedPng } from '../png.js';
import { crop } from './frames.js';
import { startWebKitDriver, startXvfb } from './processes.js';
import type { WebKitDriverProcess, XServer } from './processes.js';
import { PROGRAMS, programPath } from './programs.js';
import { BrowserProfile } from './profile.js';
import { Viewer } from './viewer.js';
import type { EngineBrowser, ImageBox } from './viewer.js';
import { WebDriverSession } from './webdriver.js';

/**
 * WebKitGTK's MiniBrowser under W3C WebDriver (WebKitWebDriver), drawn on an Xvfb display
 * of its own. A driver holds one session, and a session is one profile: a new profile is a
 * new driver and browser process; its windows share cookies and connections.
 */
export class WebKitBrowser implements EngineBrowser<WebKitViewer> {
  readonly engine = 'webkit';
  private readonly profiles = new Set<WebKitProfile>();

  private constructor(
    private readonly xvfb: XServer,
    /** The profile started at launch (to learn the version), handed out by the first `newProfile`. */
    private spare: WebKitProfile | undefined,
    readonly version: string,
  ) {}

  static async launch(): Promise<WebKitBrowser> {
    programPath(PROGRAMS.webkitDriver);
    programPath(PROGRAMS.miniBrowser);
    const xvfb = await startXvfb();
    try {
      const first = await WebKitProfile.start(xvfb.display);
      const browser = new WebKitBrowser(xvfb, first, `webkitgtk/${String(first.session.capabilities.browserVersion)}`);
      browser.adopt(first);
      return browser;
    } catch (error) {
      await xvfb.stop();
      throw error;
    }
  }

  async open(url: string): Promise<WebKitViewer> {
    const profile = await this.newProfile();
    return profile.openTab(url, true);
  }

  async newProfile(): Promise<WebKitProfile> {
    const spare = this.spare;
    this.spare = undefined;
    const profile = spare ?? this.adopt(await WebKitProfile.start(this.xvfb.display));
    // Tracked once handed out (the spare is the browser's to close until then).
    profile.handOut();
    return profile;
  }

  /** Delete every session, stop every driver, then Xvfb. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.profiles].map((profile) => profile.close()));
    await this.xvfb.stop();
  }

  private adopt(profile: WebKitProfile): WebKitProfile {
    this.profiles.add(profile);
    profile.onClose = () => this.profiles.delete(profile);
    return profile;
  }
}

/** The viewport of every window: small, so that each screenshot is cheap. */
const WINDOW_SIZE = { width: 640, height: 400 };

export class WebKitProfile extends BrowserProfile<WebKitViewer> {
  onClose = (): void => undefined;
  private firstWindowFree = true;

  private constructor(
    private readonly driver: WebKitDriverProcess,
    readonly session: WebDriverSession,
  ) {
    super(false);
  }

  static async start(display: string): Promise<WebKitProfile> {
    const driver = await startWebKitDriver(display);
    try {
      const session = await WebDriverSession.create(driver.url, {
        // Commands return once a navigation has started: the stream never finishes loading.
        pageLoadStrategy: 'none',
        'webkitgtk:browserOptions': { binary: programPath(PROGRAMS.miniBrowser), args: ['--automation'] },
      });
      return new WebKitProfile(driver, session);
    } catch (error) {
      await driver.stop();
      throw new Error(`WebKitWebDriver did not start a MiniBrowser session: ${(error as Error).message}\nIt printed:\n${driver.output()}`);
    }
  }

  handOut(): void {
    this.track();
  }

  /** The session's first window, then new ones. */
  protected async newTab(ownsProfile: boolean): Promise<WebKitViewer> {
    const handle = this.firstWindowFree ? this.session.firstWindow : await this.session.newWindow();
    this.firstWindowFree = false;
    await this.session.inWindow(handle, () => this.session.send('POST', '/window/rect', WINDOW_SIZE));
    return new WebKitViewer(this, handle, ownsProfile);
  }

  /** End the session (MiniBrowser closes its windows), then stop the driver. */
  protected async closeProfile(): Promise<void> {
    this.onClose();
    // The session may be gone already (its last window closed).
    await this.session.delete().catch(() => undefined);
    await this.driver.stop();
  }
}

/**
 * One MiniBrowser window. Its commands go through the session's queue, each switching to
 * this window first, so viewers of one profile can be sampled in turn.
 */
export class WebKitViewer extends Viewer {
  readonly engine = 'webkit';
  readonly session: WebDriverSession;

  constructor(
    readonly profile: WebKitProfile,
    readonly handle: string,
    ownsProfile: boolean,
  ) {
    super(profile, ownsProfile);
    this.session = profile.session;
  }

  protected evaluate(expression: string): Promise<unknown> {
    return this.inWindow(() => this.session.send('POST', '/execute/sync', { script: `return ${expression};`, args: [] }));
  }

  /**
   * The viewport screenshot, cropped at the box. (WebKitGTK's element screenshot of a
   * multipart image comes back black.) Device pixels are averaged back to CSS pixels.
   */
  protected async capture(box: ImageBox): Promise<DecodedPng> {
    const base64 = await this.inWindow(() => this.session.send<string>('GET', '/screenshot'));
    const scale = box.dpr;
    const pixels = crop(decodePng(Buffer.from(base64, 'base64')), { x: box.x * scale, y: box.y * scale, width: box.width * scale, height: box.height * scale });
    return scale === 1 ? pixels : downscale(pixels, box.width, box.height);
  }

  protected async go(url: string): Promise<void> {
    await this.inWindow(() => this.session.send('POST', '/url', { url }));
  }

  protected async refresh(): Promise<void> {
    await this.inWindow(() => this.session.send('POST', '/refresh', {}));
  }

  protected async closeTab(): Promise<void> {
    await this.session.closeWindow(this.handle);
  }

  private inWindow<T>(commands: () => Promise<T>): Promise<T> {
    return this.session.inWindow(this.handle, commands);
  }
}

/** `image` resized to `width` x `height` by averaging (for a devicePixelRatio above 1). */
function downscale(image: DecodedPng, width: number, height: number): DecodedPng {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [y0, y1] = [Math.floor((y * image.height) / height), Math.floor(((y + 1) * image.height) / height)];
      const [x0, x1] = [Math.floor((x * image.width) / width), Math.floor(((x + 1) * image.width) / width)];
      const sum = [0, 0, 0, 0];
      for (let sy = y0; sy < y1; sy++) for (let sx = x0; sx < x1; sx++) for (let c = 0; c < 4; c++) sum[c] += image.data[(sy * image.width + sx) * 4 + c];
      const n = (y1 - y0) * (x1 - x0);
      for (let c = 0; c < 4; c++) data[(y * width + x) * 4 + c] = Math.round(sum[c] / n);
    }
  }
  return { width, height, data };
}
