import https from 'node:https';
import type { CounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import { RECIPES, sidesOf, startBehind } from '../helpers/proxies.js';
import type { Proxy, ProxyConfig } from '../helpers/proxies.js';
import { servePage, useChromium } from '../helpers/browser.js';
import { openTab, waitForScreen } from '../helpers/proxy-tabs.js';
import type { Tab } from '../helpers/proxy-tabs.js';

// Every recipe of docs/ that speaks HTTP/2 to browsers (nginx, HAProxy, Apache httpd, Caddy), run
// in the real program with a certificate made now, in front of the app set up as the recipe says,
// with Chromium. Over HTTP/1.1 one browser gets six connections to a site and each tab's counter
// holds one, so the app ends a browser's oldest streams beyond `maxStreamsPerBrowser` (4). Over
// HTTP/2 the tabs share one connection and the recipe's X-Forwarded-Http-Version lifts that cap:
// ten tabs of one browser profile all stream, an eleventh still loads, and closed tabs leave.

const TABS = 10;
const LOAD_TIMEOUT_MS = 15_000;
const ELEVENTH_LOADS_WITHIN_MS = 5000;
const WAIT_MS = 10_000;
/** A closed tab's leave reaches the server within this, as direct (a busy 2-core machine). */
const LEAVE_MS = 1000;

const chromium = useChromium();

/** What the app was asked, as the proxy passed it on. */
interface Arrival {
  readonly path: string;
  readonly httpVersion: string | undefined;
}

async function siteOverHttp2(config: ProxyConfig): Promise<{ app: CounterApp; proxy: Proxy; url: string; arrivals: Arrival[] }> {
  const arrivals: Arrival[] = [];
  const { app, proxy } = await startBehind(
    config,
    {},
    {
      before: (express) =>
        express.use((req, _res, next) => {
          arrivals.push({ path: req.path, httpVersion: req.get('x-forwarded-http-version') });
          next();
        }),
      after: servePage,
    },
  );
  return { app, proxy, url: `${proxy.url('h2')}/`, arrivals };
}

/** Wait for the server's count; resolves with the ms waited. */
async function countReaches(app: CounterApp, count: number, what: string): Promise<number> {
  const started = Date.now();
  await eventually(() => app.counter.count === count, what, WAIT_MS).catch((error: Error) => {
    throw new Error(`${error.message}; the server counts ${app.counter.count}`);
  });
  return Date.now() - started;
}

const HTTP2_RECIPES = RECIPES.filter((config) => sidesOf(config).includes('h2'));

describe.each(HTTP2_RECIPES.map((config) => [config.file, config] as const))('%s', (_file: string, config: ProxyConfig) => {
  test('over HTTP/2, ten tabs of one browser all stream the count and an eleventh still loads; closing five leaves 5, each leave counted at once', async () => {
    const { app, proxy, url, arrivals } = await siteOverHttp2(config);
    const name = proxy.label;
    // One browser profile: its tabs share one HTTP/2 connection to the site.
    const profile = await chromium.browser.newProfile({ ignoreHTTPSErrors: true });

    const tabs: Tab[] = [];
    for (let n = 1; n <= TABS; n++) tabs.push(await openTab(profile, url, n, LOAD_TIMEOUT_MS));
    console.log(`[${name}] ten tabs' documents loaded in ${tabs.map((tab) => tab.loadMs).join(', ')} ms`);
    expect(tabs.map((tab) => tab.documentProtocol)).toEqual(Array(TABS).fill('h2'));

    const countedMs = await countReaches(app, TABS, `the server to count ${TABS} viewers`);
    const shownMs: number[] = [];
    for (const tab of tabs) shownMs.push(await waitForScreen(tab, TABS, WAIT_MS));
    console.log(`[${name}] the server counted ${TABS} ${countedMs} ms after the tenth load; switched to, each tab showed ${TABS} within ${shownMs.join(', ')} ms`);

    // Every stream went over HTTP/2 on one connection: the browser's word, and the proxy's in the header.
    await eventually(() => tabs.every((tab) => tab.image.protocol !== undefined), 'every tab to receive its image response headers');
    const connections = new Set(tabs.map((tab) => tab.image.connectionId));
    expect(tabs.map((tab) => tab.image.protocol)).toEqual(Array(TABS).fill('h2'));
    expect(connections.size).toBe(1);
    const streams = arrivals.filter((arrival) => arrival.path === '/online.png');
    const versions = [...new Set(arrivals.map((arrival) => String(arrival.httpVersion)))];
    console.log(`[${name}] ${arrivals.length} requests reached the app (${streams.length} for the image), X-Forwarded-Http-Version: ${versions.join(', ')}`);
    expect(streams.length).toBeGreaterThanOrEqual(TABS);
    expect(versions).toEqual(['HTTP/2.0']);

    // With ten streams open on the one connection, the site still answers.
    const eleventh = await openTab(profile, url, TABS + 1, LOAD_TIMEOUT_MS);
    console.log(`[${name}] the eleventh tab's document loaded in ${eleventh.loadMs} ms (${eleventh.documentProtocol})`);
    expect(eleventh.loadMs).toBeLessThan(ELEVENTH_LOADS_WITHIN_MS);
    expect(eleventh.documentProtocol).toBe('h2');
    await countReaches(app, TABS + 1, 'the server to count the eleventh tab');
    await waitForScreen(eleventh, TABS + 1, WAIT_MS);

    // Closing a tab ends its stream (RST_STREAM to the proxy, which closes its request to the app).
    const closing = Date.now();
    await eleventh.viewer.close();
    await countReaches(app, TABS, `the count back to ${TABS} after the eleventh tab closed`);
    const eleventhLeftMs = Date.now() - closing;
    for (const tab of tabs.splice(0, 5)) await tab.viewer.close();
    const leftMs = await countReaches(app, 5, 'the count to return to 5 after five tabs closed');
    const remainingMs: number[] = [];
    for (const tab of tabs) remainingMs.push(await waitForScreen(tab, 5, WAIT_MS));
    console.log(
      `[${name}] the eleventh tab's leave was counted within ${eleventhLeftMs} ms; five more closed: the server counted 5 ${leftMs} ms after the last; ` +
        `switched to, the remaining tabs showed 5 within ${remainingMs.join(', ')} ms`,
    );
    expect(leftMs).toBeLessThan(LEAVE_MS);
  }, 120_000);

  test("a client's own X-Forwarded-Http-Version never reaches the app: the proxy says what was spoken", async () => {
    const { url, arrivals } = await siteOverHttp2(config);
    // Node's https speaks HTTP/1.1 and claims HTTP/2: the app must hear the proxy's "HTTP/1.1".
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const request = https.get(url, { rejectUnauthorized: false, headers: { 'X-Forwarded-Http-Version': 'HTTP/2.0' } }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode));
      });
      request.on('error', reject);
    });
    expect(status).toBe(200);
    expect(arrivals).toEqual([{ path: '/', httpVersion: 'HTTP/1.1' }]);
  });
});
