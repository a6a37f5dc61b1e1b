import { ChromiumBrowser } from './chromium.js';
import { FirefoxBrowser } from './firefox.js';
import type { EngineBrowser, Engine } from './viewer.js';
import { WebKitBrowser } from './webkit.js';

/** Every engine the browser tests run in: Blink, Gecko and WebKit. */
export const ENGINES: readonly Engine[] = ['chromium', 'firefox', 'webkit'];

/** Launch `engine` (Debian's build; throws naming the package when it is missing). */
export function launchBrowser(engine: Engine): Promise<EngineBrowser> {
  switch (engine) {
    case 'chromium':
      return ChromiumBrowser.launch();
    case 'firefox':
      return FirefoxBrowser.launch();
    case 'webkit':
      return WebKitBrowser.launch();
  }
}

/**
 * One browser for the test file (or `describe`) that calls this: launched in `beforeAll`,
 * closed in `afterAll`. Call `closeAllViewers` in `afterEach` first.
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
