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
