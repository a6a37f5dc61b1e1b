import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { startNginxHttp2 } from '../helpers/nginx.js';
import type { Nginx } from '../helpers/nginx.js';
import { servePage, useChromium } from '../helpers/browser.js';
import { openTab, waitForScreen } from '../helpers/nginx-tabs.js';
import type { Tab } from '../helpers/nginx-tabs.js';
import { makeSelfSignedCertificate } from '../helpers/tls-certificate.js';
import type { SelfSignedCertificate } from '../helpers/tls-certificate.js';

// The HTTP/2 recipe (docs/nginx-http2.conf), run in a real nginx with a certificate made
// now, in front of the app with its defaults. Over HTTP/1.1 one browser gets six connections
// to a site and each tab's counter holds one, so the app ends a browser's oldest streams
// beyond `maxStreamsPerBrowser` (4). Over HTTP/2 the tabs share one connection and the
// recipe's X-Forwarded-Http-Version lifts that cap: ten tabs of one browser profile all
// stream, and an eleventh still loads.

const TABS = 10;
const LOAD_TIMEOUT_MS = 15_000;
const ELEVENTH_LOADS_WITHIN_MS = 5000;
const WAIT_MS = 10_000;

let certificate: SelfSignedCertificate | undefined;
let nginx: Nginx | undefined;
const chromium = useChromium();

afterEach(async () => {
  await nginx?.stop();
  nginx = undefined;
  certificate?.remove();
  certificate = undefined;
});

/** What the app was asked, as nginx passed it on. */
interface Arrival {
  readonly path: string;
  readonly httpVersion: string | undefined;
}

async function siteOverHttp2(): Promise<{ app: CounterApp; url: string; arrivals: Arrival[] }> {
  const arrivals: Arrival[] = [];
  const app = await startCounterApp(
    {},
    {
      before: (express) => {
        express.set('trust proxy', 'loopback');
        express.use((req, _res, next) => {
          arrivals.push({ path: req.path, httpVersion: req.get('x-forwarded-http-version') });
          next();
        });
      },
      after: servePage,
    },
  );
  certificate = makeSelfSignedCertificate();
  nginx = await startNginxHttp2((app.server.address() as AddressInfo).port, certificate);
  return { app, url: `${nginx.url}/`, arrivals };
}

/** Wait for the server's count; resolves with the ms waited. */
async function countReaches(app: CounterApp, count: number, what: string): Promise<number> {
  const started = Date.now();
  await eventually(() => app.counter.count === count, what, WAIT_MS).catch((error: Error) => {
    throw new Error(`${error.message}; the server counts ${app.counter.count}`);
  });
  return Date.now() - started;
}

test('over HTTP/2 through nginx, ten tabs of one browser all stream the count and an eleventh still loads; closing five leaves 5', async () => {
  const { app, url, arrivals } = await siteOverHttp2();
  // One browser profile: its tabs share one HTTP/2 connection to the site.
  const profile = await chromium.browser.newProfile({ ignoreHTTPSErrors: true });

  const tabs: Tab[] = [];
  for (let n = 1; n <= TABS; n++) tabs.push(await openTab(profile, url, n, LOAD_TIMEOUT_MS));
  console.log(`[nginx ${nginx!.version} HTTP/2] ten tabs' documents loaded in ${tabs.map((tab) => tab.loadMs).join(', ')} ms`);
  expect(tabs.map((tab) => tab.documentProtocol)).toEqual(Array(TABS).fill('h2'));

  const countedMs = await countReaches(app, TABS, `the server to count ${TABS} viewers`);
  const shownMs: number[] = [];
  for (const tab of tabs) shownMs.push(await waitForScreen(tab, TABS, WAIT_MS));
  console.log(`[nginx HTTP/2] the server counted ${TABS} ${countedMs} ms after the tenth load; switched to, each tab showed ${TABS} within ${shownMs.join(', ')} ms`);

  // Every stream went over HTTP/2 on one connection: the browser's word, and nginx's in the header.
  await eventually(() => tabs.every((tab) => tab.image.protocol !== undefined), 'every tab to receive its image response headers');
  const connections = new Set(tabs.map((tab) => tab.image.connectionId));
  console.log(`[nginx HTTP/2] image protocols: ${[...new Set(tabs.map((tab) => tab.image.protocol))].join(', ')}; browser connections used by the ten streams: ${connections.size}`);
  expect(tabs.map((tab) => tab.image.protocol)).toEqual(Array(TABS).fill('h2'));
  expect(connections.size).toBe(1);
  const streams = arrivals.filter((arrival) => arrival.path === '/online.png');
  const versions = [...new Set(arrivals.map((arrival) => String(arrival.httpVersion)))];
  console.log(`[nginx HTTP/2] ${arrivals.length} requests reached the app (${streams.length} for the image), X-Forwarded-Http-Version: ${versions.join(', ')}`);
  expect(streams.length).toBeGreaterThanOrEqual(TABS);
  expect(versions).toEqual(['HTTP/2.0']);

  // With ten streams open on the one connection, the site still answers.
  const eleventh = await openTab(profile, url, TABS + 1, LOAD_TIMEOUT_MS);
  console.log(`[nginx HTTP/2] the eleventh tab's document loaded in ${eleventh.loadMs} ms (${eleventh.documentProtocol})`);
  expect(eleventh.loadMs).toBeLessThan(ELEVENTH_LOADS_WITHIN_MS);
  expect(eleventh.documentProtocol).toBe('h2');
  await countReaches(app, TABS + 1, 'the server to count the eleventh tab');
  await waitForScreen(eleventh, TABS + 1, WAIT_MS);

  // Closing a tab ends its stream (RST_STREAM to nginx, which closes its request to the app).
  await eleventh.viewer.close();
  await countReaches(app, TABS, `the count back to ${TABS} after the eleventh tab closed`);
  const closing = Date.now();
  for (const tab of tabs.splice(0, 5)) await tab.viewer.close();
  const closedMs = Date.now() - closing;
  const leftMs = await countReaches(app, 5, 'the count to return to 5 after five tabs closed');
  const remainingMs: number[] = [];
  for (const tab of tabs) remainingMs.push(await waitForScreen(tab, 5, WAIT_MS));
  console.log(
    `[nginx HTTP/2] five tabs closed in ${closedMs} ms; the server counted 5 ${leftMs} ms after the last close; ` +
      `switched to, the remaining tabs showed 5 within ${remainingMs.join(', ')} ms`,
  );
}, 120_000);

test("through the HTTP/2 recipe, a client's own X-Forwarded-Http-Version never reaches the app: nginx says what was spoken", async () => {
  const { url, arrivals } = await siteOverHttp2();
  // Node's https speaks HTTP/1.1 and claims HTTP/2: the app must hear nginx's "HTTP/1.1".
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
