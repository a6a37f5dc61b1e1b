import type { DecodedPng } from '../png.js';
import type { Box } from './frames.js';
import { describeSample } from './frames.js';
import { closeAllProfiles } from './profile.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sampler } from './sampler.js';
import type { Sample, SamplerOptions } from './sampler.js';

/*
 * The contract every engine implements: a browser opens viewers, each one window (or
 * tab) showing one URL, either in a profile of its own or in a shared profile.
 */

export type Engine = 'chromium' | 'firefox' | 'webkit';

/** Something that opens a URL in a new viewer. */
export interface Opener<V extends Viewer = Viewer> {
  open(url: string): Promise<V>;
}

/**
 * One browser profile: its tabs share cookies, cache and the connection pool (six per host
 * over HTTP/1.1). Firefox 153 also shares one loading multipart image between them: a second
 * tab showing `/online.png` sends no request, and its `<img>` stays broken (naturalWidth 0).
 */
export interface Profile<V extends Viewer = Viewer> extends Opener<V> {
  /** Open `url` in a new tab (window) of this profile. */
  open(url: string): Promise<V>;
  /** Close every tab of the profile, then the profile. */
  close(): Promise<void>;
}

/** A launched browser. */
export interface EngineBrowser<V extends Viewer = Viewer> extends Opener<V> {
  readonly engine: Engine;
  /** As the browser reports it, e.g. `firefox/153.8.0`. */
  readonly version: string;
  /** Open `url` in a window of a new profile of its own (closing the viewer closes the profile). */
  open(url: string): Promise<V>;
  /** A new, empty profile, to open several tabs in. */
  newProfile(): Promise<Profile<V>>;
  /** Close every profile, then the browser (and its helper processes). */
  close(): Promise<void>;
}

const openViewers = new Set<Viewer>();

/**
 * Stop every sampler and close every viewer and profile still open (call from afterEach,
 * before closeAllApps). Tries them all; then throws the first failure, if any.
 */
export async function closeAllViewers(): Promise<void> {
  const results = [...(await Promise.allSettled([...openViewers].map((viewer) => viewer.close()))), ...(await closeAllProfiles())];
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
}

// Run in the page (strings: the tests are compiled without the DOM types).
const NATURAL_WIDTH = `document.querySelector('img')?.naturalWidth ?? 0`;
const IMAGE_BOX = `(() => {
  const rect = document.querySelector('img')?.getBoundingClientRect();
  return rect && rect.width > 0 ? JSON.stringify({ x: rect.x, y: rect.y, width: rect.width, height: rect.height, dpr: devicePixelRatio }) : null;
})()`;

/** The `<img>`'s box in CSS pixels, and the device pixels per CSS pixel. */
export interface ImageBox extends Box {
  dpr: number;
}

/** What a viewer needs of the profile it is a tab of. */
interface TabHome {
  /** Whether the profile is closing (its tabs close with it). */
  readonly closed: boolean;
  close(): Promise<void>;
}

/** One window (or tab) of a browser, showing one URL; a person with the page open. */
export abstract class Viewer {
  abstract readonly engine: Engine;
  /** `Date.now()` just before the latest navigation (open, navigate, reload) started. */
  navigatedAt = 0;
  private box: ImageBox | undefined;
  private readonly samplers = new Set<Sampler>();
  private closing: Promise<void> | undefined;

  protected constructor(
    private readonly home: TabHome,
    /** Closing the viewer closes the profile (its own). */
    private readonly ownsProfile: boolean,
  ) {
    openViewers.add(this);
  }

  /** Go to `url` in this window (leaving the page it shows); resolves once the navigation has started. */
  async navigate(url: string): Promise<void> {
    this.box = undefined;
    this.navigatedAt = Date.now();
    await this.go(url);
  }

  /** Go to `url` from the page's own script (`location.href = url`), as a link would; resolves once it is asked for. */
  async navigateByScript(url: string): Promise<void> {
    this.box = undefined;
    this.navigatedAt = Date.now();
    await this.evaluate(`(() => { location.href = ${JSON.stringify(url)}; return true; })()`);
  }

  /**
   * Switch to this tab, as its reader would (headless Chromium takes about 2 s to screenshot a
   * tab that is not in front, though its image is up to date). Nothing in the other engines.
   */
  async show(): Promise<void> {
    // Only Chromium needs it.
  }

  /** Reload the page; resolves once the reload has started. */
  async reload(): Promise<void> {
    this.box = undefined;
    this.navigatedAt = Date.now();
    await this.refresh();
  }

  /** A screenshot of the `<img>`'s box and its `naturalWidth`, at the same moment. */
  async sample(): Promise<Sample> {
    const box = (this.box ??= await this.imageBox());
    const [pixels, naturalWidth] = await Promise.all([this.capture(box), this.evaluate(NATURAL_WIDTH)]);
    return { t: Date.now(), naturalWidth: Number(naturalWidth), pixels };
  }

  /**
   * Take samples one after another (no background sampler) until one satisfies `check`, for
   * up to `timeoutMs`; the error names what was on screen last.
   */
  async waitForScreen(check: (sample: Sample) => boolean, what: string, timeoutMs = 15_000): Promise<Sample> {
    const deadline = Date.now() + timeoutMs;
    let last = 'nothing (no sample could be taken)';
    for (;;) {
      try {
        const sample = await this.sample();
        if (check(sample)) return sample;
        last = describeSample(sample, this.navigatedAt);
      } catch (error) {
        last = `an error: ${(error as Error).message}`;
      }
      if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for the ${this.engine} page to show ${what}; last saw ${last}`);
      await sleep(50);
    }
  }

  /** Sample every `intervalMs` (or back to back when a screenshot takes longer) until stopped. */
  startSampling(intervalMs = 50, options: SamplerOptions = {}): Sampler {
    const sampler = new Sampler(this, intervalMs, options);
    this.samplers.add(sampler);
    return sampler;
  }

  /** Stop every sampler of this viewer (before it navigates away: the samples would fail). */
  async stopSampling(): Promise<void> {
    const samplers = [...this.samplers];
    this.samplers.clear();
    await Promise.all(samplers.map((sampler) => sampler.stop()));
  }

  /** Leave: stop sampling and close the window (and the profile, when it is the viewer's own). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.release();
      await this.closeWindow();
    })();
    return this.closing;
  }

  /** Stop sampling and forget this viewer, leaving its window to its profile (which is closing). */
  async release(): Promise<void> {
    openViewers.delete(this);
    await this.stopSampling();
  }

  /** Evaluate a JavaScript expression in the page; resolves with its (JSON) value. */
  protected abstract evaluate(expression: string): Promise<unknown>;
  /** The pixels of `box` on screen (CSS pixels, one screenshot pixel each). */
  protected abstract capture(box: ImageBox): Promise<DecodedPng>;
  protected abstract go(url: string): Promise<void>;
  protected abstract refresh(): Promise<void>;
  /** Close this tab (window) of the profile. */
  protected abstract closeTab(): Promise<void>;

  /** Close the window, or the profile when the viewer owns it; nothing when the profile is closing anyway. */
  private async closeWindow(): Promise<void> {
    if (this.ownsProfile) await this.home.close();
    else if (!this.home.closed) await this.closeTab();
  }

  /** The `<img>`'s box, polled (faster than a selector wait, which would delay the first sample). */
  private async imageBox(): Promise<ImageBox> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const json = await this.evaluate(IMAGE_BOX).catch(() => null);
      if (typeof json === 'string') {
        const box = JSON.parse(json) as ImageBox;
        return { x: Math.round(box.x), y: Math.round(box.y), width: Math.round(box.width), height: Math.round(box.height), dpr: box.dpr };
      }
      if (Date.now() > deadline) throw new Error(`The ${this.engine} page has no <img> with a box after 5 s.`);
      await sleep(10);
    }
  }
}
