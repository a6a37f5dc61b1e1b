import type { ChromiumProfile, ChromiumViewer } from './browser.js';
import { screenShows } from './browser.js';

// Tabs of one Chromium profile in front of a proxy recipe, with what the browser said about
// each tab's document and image stream (which protocol, which connection).

/** One tab, with what the browser said about its document and its image stream. */
export interface Tab {
  readonly n: number;
  readonly viewer: ChromiumViewer;
  /** Navigation start to DOMContentLoaded. */
  readonly loadMs: number;
  /** The document's `nextHopProtocol` ("h2" over HTTP/2, "http/1.1"). */
  readonly documentProtocol: string;
  /** The `<img>` response's protocol and connection (DevTools protocol; set when its headers arrive). */
  readonly image: { protocol?: string; connectionId?: number };
}

// Run in the page (a string: the tests are compiled without the DOM types).
const NAVIGATION = `(() => {
  const entry = performance.getEntriesByType('navigation')[0];
  return JSON.stringify({ protocol: entry?.nextHopProtocol ?? '', status: entry?.responseStatus ?? 0 });
})()`;

/** Open a new tab of `profile` on `url`; fails naming the tab when its document does not load within `timeoutMs`. */
export async function openTab(profile: ChromiumProfile, url: string, n: number, timeoutMs: number): Promise<Tab> {
  const image: { protocol?: string; connectionId?: number } = {};
  const loading = (async () => {
    const opened = await profile.openTab(url, false, async ({ page }) => {
      const cdp = await page.context().newCDPSession(page);
      cdp.on('Network.responseReceived', ({ response }) => {
        if (new URL(response.url).pathname === '/online.png') Object.assign(image, { protocol: response.protocol, connectionId: response.connectionId });
      });
      await cdp.send('Network.enable');
    });
    await opened.page.waitForLoadState('domcontentloaded', { timeout: timeoutMs });
    return opened;
  })();
  const viewer = await loading.catch((error: Error) => {
    throw new Error(`Tab ${n}'s document did not load within ${timeoutMs} ms (HTTP/1.1's six connections per host, all held by streams, would do this): ${error.message}`);
  });
  const loadMs = Date.now() - viewer.navigatedAt;
  const navigation = JSON.parse(await viewer.page.evaluate<string>(NAVIGATION)) as { protocol: string; status: number };
  if (navigation.status !== 200) throw new Error(`Tab ${n}'s document answered ${navigation.status}, not 200.`);
  return { n, viewer, loadMs, documentProtocol: navigation.protocol, image };
}

/**
 * Switch to the tab (as its reader would) and wait until its screen shows the renderer's
 * frame for `count`; resolves with the ms waited. Switching first: headless Chromium takes
 * about 2 s to screenshot a tab that is not in front, though its image is up to date.
 */
export async function waitForScreen(tab: Tab, count: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await tab.viewer.show();
  await tab.viewer.waitForScreen((sample) => screenShows(sample, count), `tab ${tab.n}: the frame for ${count}`, timeoutMs);
  return Date.now() - started;
}
