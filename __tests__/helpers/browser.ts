import { ChromiumBrowser, closeAllViewers, launchBrowser, servePage } from '../../support/browsers/index.js';
import type { Engine, EngineBrowser } from '../../support/browsers/index.js';
import type { Options } from '../../lib/index.js';
import { startCounterApp } from './counter-app.js';
import type { CounterApp, StartOptions } from './counter-app.js';
import { closeAfterEachTest } from './cleanup.js';

/*
 * The real-browser harness for the tests: everything in support/browsers/ (shared with the
 * benches), plus what ties it to Jest (a browser per test file) and to the test apps.
 */
export * from '../../support/browsers/index.js';

// Browser pages and profiles are closed after each test, before the apps (helpers/cleanup.ts).
closeAfterEachTest(closeAllViewers);

/**
 * One browser for the test file (or `describe`) that calls this: launched in `beforeAll`,
 * closed in `afterAll`.
 */
export function useBrowser<B extends EngineBrowser>(engine: Engine, launch: () => Promise<B> = () => launchBrowser(engine) as Promise<B>): { readonly browser: B } {
  let browser: B | undefined;
  beforeAll(async () => {
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  }, 30_000);
  return {
    get browser() {
      if (!browser) throw new Error(`${engine} was not launched (see the beforeAll error above).`);
      return browser;
    },
  };
}

/** One Chromium for the test file (`useBrowser('chromium')`, typed for Playwright's extras). */
export function useChromium(): { readonly browser: ChromiumBrowser } {
  return useBrowser('chromium', () => ChromiumBrowser.launch());
}

/** A counter app that also serves the image page at `/` and a blank page at `/blank`. */
export function startPageApp(options?: Options, { before }: Pick<StartOptions, 'before'> = {}): Promise<CounterApp> {
  return startCounterApp(options, { before, after: servePage });
}
