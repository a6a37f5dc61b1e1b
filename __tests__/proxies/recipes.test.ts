// Every recipe of docs/ (nginx, HAProxy, Apache httpd, Caddy, Varnish), run in the real program
// from Debian's packages in front of a test app set up as the recipe says, on each side it serves
// (plain HTTP/1.1; HTTP/2 over TLS), read by raw clients: what a viewer gets through it, held to
// the same bounds as a viewer of the app itself.
import { gunzipSync } from 'node:zlib';
import { startCounterApp } from '../helpers/counter-app.js';
import { Http2Browser, getWhole, joinAndLeave, lastPartShows, openStream } from '../helpers/proxy-clients.js';
import type { SideStream, Timings } from '../helpers/proxy-clients.js';
import { RECIPES, SITE_PAGE, sidesOf, startBehind } from '../helpers/proxies.js';
import type { ProxyConfig, Side } from '../helpers/proxies.js';
import { eventually } from '../helpers/time.js';
import { showsCount } from '../../support/png.js';

/** The bounds for a viewer, direct or through any recipe (a busy 2-core machine; typical figures are printed). */
const FIRST_FRAME_MS = 1000;
const CHANGE_MS = 1000;
const LEAVE_MS = 1000;

/** Recipes that proxy only the counter's paths: the rest of the site is not theirs to compress. */
const COUNTER_PATHS_ONLY = ['docs/nginx-location.conf'];

/** A browser's cookie for the per-browser cap (any id of the right shape). */
const BROWSER_COOKIE = 'user_counter_browser=AAAAAAAAAAAAAAAAAAAAAA';

function expectWithinBounds(timings: Timings): void {
  expect(timings.firstFrameMs).toBeLessThan(FIRST_FRAME_MS);
  expect(timings.joinShownMs).toBeLessThan(CHANGE_MS);
  expect(timings.leaveCountedMs).toBeLessThan(LEAVE_MS);
  expect(timings.leaveShownMs).toBeLessThan(LEAVE_MS + CHANGE_MS);
}

test('direct, the bounds every recipe is held to: first frame, a join shown, a leave counted and shown', async () => {
  const app = await startCounterApp({}, { before: (express) => express.set('trust proxy', 1) });
  const timings = await joinAndLeave(app.url, 'http/1.1', app);
  console.log(`[direct] ${JSON.stringify(timings)}`);
  expectWithinBounds(timings);
});

describe.each(RECIPES.map((config) => [config.file, config] as const))('%s', (file: string, config: ProxyConfig) => {
  const sides = sidesOf(config);

  test('a viewer gets its first frame, sees a second join, and the second one\'s leave is counted and shown, each within the bounds of direct', async () => {
    const { app, proxy } = await startBehind(config);
    for (const side of sides) {
      const timings = await joinAndLeave(proxy.url(side), side, app);
      console.log(`[${proxy.label}, ${side}] ${JSON.stringify(timings)}`);
      expectWithinBounds(timings);
    }
  });

  test('the stream is never compressed, whatever the browser accepts, while the site\'s compression is on', async () => {
    const { proxy } = await startBehind(config);
    const accepts = { 'Accept-Encoding': 'gzip, deflate, br, zstd' };
    for (const side of sides) {
      const stream = await openStream(proxy.url(side), side, { headers: accepts });
      await lastPartShows(stream, (png) => showsCount(png, 1), 'the frame for 1 with every encoding accepted');
      expect(stream.headers['content-encoding']).toBeUndefined();
      stream.leave();
      if (COUNTER_PATHS_ONLY.includes(file)) continue;
      const page = await getWhole(proxy.url(side), side, SITE_PAGE, accepts);
      expect([page.status, page.headers['content-encoding']]).toEqual([200, expect.stringMatching(/^(gzip|br|zstd|deflate)$/)]);
      const json = await getWhole(proxy.url(side), side, '/online.json', { 'Accept-Encoding': 'gzip' });
      const body = json.headers['content-encoding'] === 'gzip' ? gunzipSync(json.body) : json.body;
      expect(JSON.parse(body.toString())).toEqual({ count: expect.any(Number) });
    }
  });

  test('the per-address cap counts each viewer\'s own address, whatever X-Forwarded-For the viewer sends', async () => {
    const { app, proxy } = await startBehind(config, { maxConnectionsPerIp: 1 });
    let address = 2;
    for (const side of sides) {
      const [one, other] = [`127.0.0.${address++}`, `127.0.0.${address++}`];
      const url = proxy.url(side);
      const first = await openStream(url, side, { localAddress: one });
      // The same viewer, claiming to be someone else: refused, its own address is at the cap.
      const again = await openStream(url, side, { localAddress: one, headers: { 'X-Forwarded-For': '198.51.100.7' } });
      // Another viewer, claiming the first one's address: served, for its own.
      const another = await openStream(url, side, { localAddress: other, headers: { 'X-Forwarded-For': one } });
      expect([first.status, again.status, another.status]).toEqual([200, 429, 200]);
      await eventually(() => app.counter.count === 2, `2 viewers counted (over ${side})`, 10_000);
      for (const stream of [first, another]) stream.leave();
      await eventually(() => app.counter.count === 0, `the count back to 0 (over ${side})`, 10_000);
    }
  });

  test('the per-browser cap holds over HTTP/1.1, whatever the client claims, and is lifted over HTTP/2', async () => {
    const { app, proxy } = await startBehind(config);
    const tabs = 5;
    for (const side of sides) {
      const url = proxy.url(side);
      const browser = side === 'h2' ? await Http2Browser.connect(url) : undefined;
      const streams: SideStream[] = [];
      for (let n = 0; n < tabs; n++) {
        const stream = await openStream(url, side, { browser, headers: { Cookie: BROWSER_COOKIE, 'X-Forwarded-Http-Version': 'HTTP/2.0' } });
        await lastPartShows(stream, () => true, `tab ${n + 1}'s first frame`);
        streams.push(stream);
      }
      // Over HTTP/1.1 the oldest tab is ended (4 are kept); over HTTP/2 all five stay live.
      const live = side === 'h2' ? tabs : tabs - 1;
      await eventually(() => streams.filter((stream) => stream.ended).length === tabs - live, `${tabs - live} tab(s) ended (over ${side})`, 10_000);
      await eventually(() => app.counter.count === live, `${live} viewers counted (over ${side})`, 10_000);
      expect(streams.map((stream) => stream.ended)).toEqual([...Array(tabs - live).fill(true), ...Array(live).fill(false)]);
      for (const stream of streams) stream.leave();
      browser?.close();
      await eventually(() => app.counter.count === 0, `the count back to 0 (over ${side})`, 10_000);
    }
  });

  test('/online.json and /online.shields.json answer through it, the current count every time, never from a cache', async () => {
    const { app, proxy } = await startBehind(config);
    for (const side of sides) {
      const url = proxy.url(side);
      const counts = async () => {
        const [json, badge] = [await getWhole(url, side, '/online.json'), await getWhole(url, side, '/online.shields.json')];
        expect([json.status, badge.status]).toEqual([200, 200]);
        return [JSON.parse(json.body.toString()).count, JSON.parse(badge.body.toString()).message];
      };
      const first = await openStream(url, side);
      await lastPartShows(first, (png) => showsCount(png, 1), 'the frame for 1');
      expect(await counts()).toEqual([1, '1']);
      const second = await openStream(url, side);
      await lastPartShows(first, (png) => showsCount(png, 2), 'the frame for 2');
      expect(await counts()).toEqual([2, '2']);
      second.leave();
      await lastPartShows(first, (png) => showsCount(png, 1), 'the frame for 1 again');
      expect(await counts()).toEqual([1, '1']);
      first.leave();
      await eventually(() => app.counter.count === 0, `the count back to 0 (over ${side})`, 10_000);
    }
  });
});
