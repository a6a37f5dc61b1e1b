import type { DecodedPng } from '../png.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeSample } from './frames.js';

/** What was on screen where the `<img>` is, at one moment. */
export interface Sample {
  /** `Date.now()` when the screenshot came back: the frame was on screen by then. */
  t: number;
  /** The `<img>`'s `naturalWidth` at that moment (0: no image, or a broken one). */
  naturalWidth: number;
  /** The screenshot of the `<img>`'s box, decoded (RGBA, opaque: the image over the page). */
  pixels: DecodedPng;
}

/** Anything that can take a sample: a viewer. */
export interface Sampleable {
  sample(): Promise<Sample>;
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
    private readonly viewer: Sampleable,
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

  /** The first sample taken after `t` (to observe the screen up to a moment: `sampleAfter(settled.t + 500)`). */
  sampleAfter(t: number, timeoutMs = 5000): Promise<Sample> {
    return this.waitFor(() => true, 'any new sample (is every screenshot failing?)', { since: t, timeoutMs });
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
      let failed = false;
      try {
        const sample = await this.viewer.sample();
        if (!this.stopped) this.keep(sample);
      } catch (error) {
        failed = true;
        if (!this.stopped) {
          this.failed += 1;
          this.errors.push(error as Error);
          if (this.errors.length > 100) this.errors.shift();
        }
      }
      // A failing sample (a page going away) comes back at once: do not spin on it.
      const wait = started + Math.max(this.intervalMs, failed ? 20 : 0) - Date.now();
      if (wait > 0 && !this.stopped) await sleep(wait);
    }
  }
}
