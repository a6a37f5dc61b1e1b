// What a person sees, in each engine (Chromium, Firefox, WebKitGTK): the live image on a
// real page of a listening app, sampled from the screen and compared with the renderer's frames.
import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import { eventually } from '../helpers/time.js';
import type { CounterApp } from '../helpers/counter-app.js';
import {
  BLANK_PATH,
  describeSample,
  differingPixels,
  ENGINES,
  joinAndWait,
  leaveAndWait,
  MAX_DIFFERING_PIXELS,
  openAndWatch,
  screenShows,
  showsText,
  startPageApp,
  unsteadySamples,
  useBrowser,
} from '../helpers/browser.js';
import type { Engine } from '../helpers/browser.js';

/** The middleware's default keep-alive: a whole frame again after this long without one. */
const KEEP_ALIVE_MS = 3000;

/**
 * How soon the server must see a page's stream end once the page closes. Chromium and
 * WebKit close the connection with the page; Firefox notices only when bytes arrive, which
 * the server's heartbeat bytes (every 300 ms, Gecko only) make happen.
 */
const CLOSED_END_MS: Record<Engine, number> = { chromium: 1000, firefox: 1500, webkit: 1000 };

/**
 * ...and once it navigates away. Firefox keeps the old page's image stream until a whole
 * part arrives (heartbeat bytes do not end it): the next keep-alive re-send at the latest.
 */
const AWAY_END_MS: Record<Engine, number> = { chromium: 1000, firefox: KEEP_ALIVE_MS + 1000, webkit: 1000 };

/** How long a change may take to reach the screen (a busy 2-core machine; typical figures are printed). */
const SCREEN_MS = 3000;

/** Resolves once the server counts `count`: a joining browser's window, page and request take their own time. */
function counting(counter: CounterApp['counter'], count: number): () => Promise<void> {
  return () => eventually(() => counter.count === count, `the server to count ${count} as the viewer joins`, 10_000);
}

/** Streams as the server saw them open and end. */
function watchStreams(counter: CounterApp['counter']): { connects: number; disconnects: number; lastDisconnectAt: number } {
  const seen = { connects: 0, disconnects: 0, lastDisconnectAt: 0 };
  counter.events.on('connect', () => (seen.connects += 1));
  counter.events.on('disconnect', () => {
    seen.disconnects += 1;
    seen.lastDisconnectAt = Date.now();
  });
  return seen;
}

describe.each(ENGINES)('%s', (engine) => {
  const under = useBrowser(engine);

  test('the first frame shows soon after navigation and is the frame the server rendered for 1', async () => {
    const { url, counter } = await startPageApp();
    const watched = await openAndWatch(under.browser, `${url}/`, { timeoutMs: SCREEN_MS });
    const later = await watched.sampler.sampleAfter(watched.settled.t + 500);
    console.log(`[${engine} ${under.browser.version}] first frame on screen ${watched.visibleMs} ms after navigation; the frame for 1 at ${watched.settledMs} ms`);

    expect(watched.visibleMs).toBeLessThan(SCREEN_MS);
    expect(counter.count).toBe(1);
    expect(later.naturalWidth).toBe(200);
    expect(differingPixels(later.pixels, 1)).toBeLessThanOrEqual(MAX_DIFFERING_PIXELS);
    // The comparison can fail: the same screen is not the frame for 2, nor for 11.
    expect(differingPixels(later.pixels, 2)).toBeGreaterThan(MAX_DIFFERING_PIXELS * 4);
    expect(differingPixels(later.pixels, 11)).toBeGreaterThan(MAX_DIFFERING_PIXELS * 4);
    // Once the frame for 1 is up, it stays.
    const after = watched.sampler.after(watched.settled.t - 1);
    expect(after.filter((sample) => !screenShows(sample, 1)).map((sample) => describeSample(sample, watched.viewer.navigatedAt))).toEqual([]);
  });

  test('a second viewer in a window of its own makes the first page show 2; closing that window shows 1, with no blank between', async () => {
    const { url, counter } = await startPageApp();
    const watched = await openAndWatch(under.browser, `${url}/`, { timeoutMs: SCREEN_MS });

    const { viewer: second, change: joined } = await joinAndWait(under.browser, `${url}/`, watched.sampler, 2, SCREEN_MS, counting(counter, 2));
    expect(counter.count).toBe(2);
    // The newcomer's own page shows 2 as well.
    await second.startSampling().waitFor((sample) => screenShows(sample, 2), 'the frame for 2 on the second page', { since: second.navigatedAt, timeoutMs: SCREEN_MS });
    await watched.sampler.sampleAfter(joined.sample.t + 300);
    const left = await leaveAndWait(second, watched.sampler, 1, { timeoutMs: SCREEN_MS });
    await watched.sampler.sampleAfter(left.sample.t + 300);
    console.log(`[${engine}] a second viewer joined: the first page showed 2 after ${joined.ms} ms; it closed its window: 1 after ${left.ms} ms`);

    expect(counter.count).toBe(1);
    // Never blank; between the join and the leave, once 2 is up it stays; after the leave, once 1 is up it stays.
    expect(unsteadySamples(watched.sampler.after(watched.settled.t), joined, left)).toEqual({ blank: [], notTwoAfterJoin: [], notOneAfterLeave: [] });
  });

  test('a second viewer navigating away to another page of the site makes the first page show 1', async () => {
    const { url, counter } = await startPageApp();
    const watched = await openAndWatch(under.browser, `${url}/`, { timeoutMs: SCREEN_MS });
    const { viewer: second, change: joined } = await joinAndWait(under.browser, `${url}/`, watched.sampler, 2, SCREEN_MS, counting(counter, 2));
    const timeoutMs = SCREEN_MS + AWAY_END_MS[engine] - CLOSED_END_MS[engine];
    const left = await leaveAndWait(second, watched.sampler, 1, { timeoutMs, navigateTo: `${url}${BLANK_PATH}` });
    await watched.sampler.sampleAfter(left.sample.t + 300);
    console.log(`[${engine}] a second viewer joined: 2 after ${joined.ms} ms; it navigated away: 1 after ${left.ms} ms`);

    expect(counter.count).toBe(1);
    expect(screenShows(watched.sampler.samples[watched.sampler.samples.length - 1], 1)).toBe(true);
    const samples = watched.sampler.after(watched.settled.t);
    expect(samples.filter((sample) => !showsText(sample)).map((sample) => describeSample(sample, joined.startedAt))).toEqual([]);
  });

  test(`the server sees a page's stream end within ${CLOSED_END_MS[engine]} ms of the page closing, ${AWAY_END_MS[engine]} ms of it navigating away`, async () => {
    const { url, counter } = await startPageApp();
    const streams = watchStreams(counter);
    const streamEnded = async (leave: () => Promise<void>, what: string): Promise<number> => {
      const before = streams.disconnects;
      const startedAt = Date.now();
      await leave();
      await eventually(() => streams.disconnects > before && counter.count === 0, `the server to see the stream end after the page ${what}`, 10_000);
      return streams.lastDisconnectAt - startedAt;
    };

    const viewer = (await openAndWatch(under.browser, `${url}/`, { timeoutMs: SCREEN_MS })).viewer;
    await viewer.stopSampling();
    const away = await streamEnded(() => viewer.navigate(`${url}${BLANK_PATH}`), 'navigated away');
    await viewer.navigate(`${url}/`);
    await viewer.startSampling().waitFor((sample) => screenShows(sample, 1), 'the frame for 1 back on the page', { since: viewer.navigatedAt, timeoutMs: SCREEN_MS });
    await viewer.stopSampling();
    const closed = await streamEnded(() => viewer.close(), 'closed');
    console.log(`[${engine}] the server saw the stream end ${away} ms after the page navigated away, ${closed} ms after it closed`);

    expect(away).toBeLessThan(AWAY_END_MS[engine]);
    expect(closed).toBeLessThan(CLOSED_END_MS[engine]);
    expect({ connects: streams.connects, disconnects: streams.disconnects }).toEqual({ connects: 2, disconnects: 2 });
  });

  test('one <img> opens exactly one stream, and after a reload one stream is open', async () => {
    let imageRequests = 0;
    const countRequests = (app: Express): void => {
      app.use((req, _res, next) => {
        // Firefox asks for the plain URL first and is redirected to a view of its own: the image's request is that one.
        if (req.path === '/online.png' && (engine !== 'firefox' || req.query.view !== undefined)) imageRequests += 1;
        next();
      });
    };
    const { url, counter } = await startPageApp(undefined, { before: countRequests });
    const streams = watchStreams(counter);
    const watched = await openAndWatch(under.browser, `${url}/`, { timeoutMs: SCREEN_MS });
    // Watch the page for a second: no second request, no second stream.
    await watched.sampler.sampleAfter(watched.settled.t + 1000);
    expect({ count: counter.count, connects: streams.connects, disconnects: streams.disconnects, imageRequests }).toEqual({ count: 1, connects: 1, disconnects: 0, imageRequests: 1 });

    await watched.viewer.reload();
    const reloadedAt = watched.viewer.navigatedAt;
    await watched.sampler.waitFor((sample) => screenShows(sample, 1), 'the frame for 1 after the reload', { since: reloadedAt, timeoutMs: 7000 });
    await eventually(() => counter.count === 1 && streams.connects - streams.disconnects === 1, 'one open stream after the reload', 3000);
    await watched.sampler.sampleAfter(Date.now() + 1000);
    // Chromium and WebKit replace the stream; Firefox may keep the loading image and its stream.
    console.log(
      `[${engine}] reload: ${streams.connects} streams opened in all, ${streams.disconnects} ended ` +
        `(the old one ${streams.lastDisconnectAt ? `${streams.lastDisconnectAt - reloadedAt} ms after the reload began` : 'kept'}), ${imageRequests} image requests`,
    );
    expect(counter.count).toBe(1);
    expect(streams.connects - streams.disconnects).toBe(1);
    expect(streams.connects).toBeLessThanOrEqual(2);
    expect(imageRequests).toBe(streams.connects);
  });

  test('tabs of one profile share its cookies and show the count; closing a tab, then the profile, ends their streams', async () => {
    // The page hands each profile a cookie once: which cookie a page request carries says which profile sent it.
    const pageCookies: string[] = [];
    const tagProfiles = (app: Express): void => {
      app.use((req, res, next) => {
        const sent = /(?:^|; )profile=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
        if (req.path === '/') {
          pageCookies.push(sent ?? 'none');
          if (!sent) res.setHeader('Set-Cookie', `profile=${randomUUID()}; Path=/`);
        }
        next();
      });
    };
    const { url, counter } = await startPageApp(undefined, { before: tagProfiles });
    const profile = await under.browser.newProfile();
    const first = await openAndWatch(profile, `${url}/`, { timeoutMs: SCREEN_MS });
    const second = await profile.open(`${url}/`);
    const secondSampler = second.startSampling();
    // Each tab has a stream of its own (Firefox by a redirect to a view of its own: README, Browsers).
    await first.sampler.waitFor((sample) => screenShows(sample, 2), 'the frame for 2 on the first tab', { since: second.navigatedAt, timeoutMs: SCREEN_MS });
    await secondSampler.waitFor((sample) => screenShows(sample, 2), 'the frame for 2 on the second tab', { since: second.navigatedAt, timeoutMs: SCREEN_MS });
    // A viewer in a profile of its own joins.
    await joinAndWait(under.browser, `${url}/`, first.sampler, 3, SCREEN_MS, counting(counter, 3));
    await leaveAndWait(second, first.sampler, 2, { timeoutMs: SCREEN_MS });
    const profileClosedAt = Date.now();
    await profile.close();
    await eventually(() => counter.count === 1, 'the count back to 1 once the profile closed', CLOSED_END_MS[engine] + 2000);
    console.log(`[${engine}] two tabs of one profile, each with a stream of its own; the profile closed: count 1 after ${Date.now() - profileClosedAt} ms`);

    // The second tab sent the cookie the first was given; the other profile had none.
    expect(pageCookies).toEqual(['none', expect.not.stringMatching(/^none$/), 'none']);
  });
});
