import type { Browser } from 'playwright-core';
import { ChromiumBrowser } from './chromium.js';
import type { ChromiumViewer } from './chromium.js';
import { openAndWatch as openAndWatchIn } from './scenarios.js';
import type { WatchedPage } from './scenarios.js';
import type { SamplerOptions } from './sampler.js';
import type { Opener, Viewer } from './viewer.js';

type WatchOptions = { count?: number; timeoutMs?: number; intervalMs?: number; sampling?: SamplerOptions };

/**
 * `openAndWatch` (see `scenarios.ts`) that also takes Playwright's own Chromium `Browser`,
 * as `launchChromium()` returns it (bench/soak.ts).
 */
export function openAndWatch<V extends Viewer>(opener: Opener<V>, url: string, options?: WatchOptions): Promise<WatchedPage<V>>;
export function openAndWatch(browser: Browser, url: string, options?: WatchOptions): Promise<WatchedPage<ChromiumViewer>>;
export function openAndWatch(opener: Opener | Browser, url: string, options?: WatchOptions): Promise<WatchedPage> {
  return openAndWatchIn('open' in opener ? opener : ChromiumBrowser.of(opener), url, options);
}
