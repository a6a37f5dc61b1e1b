// Every tab is one stream, in every engine (README, Browsers): tabs of one profile, opened
// together and seconds apart, each show the count and are each counted, with a plain
// <img src="/online.png"> and with the page helper (res.locals.userCounter); ten tabs of a fresh
// profile opened at once (a restored session) all load, and an eleventh page, with the live
// images showing the count the server has. In Firefox, tabs opened every way a reader opens them.
import { setTimeout as pause } from 'node:timers/promises';
import { eventually } from '../helpers/time.js';
import { ENGINES, screenShows, screenShowsEnded, startPageApp, useBrowser, VIEW_PAGE_PATH } from '../helpers/browser.js';
import type { FirefoxBrowser, FirefoxProfile, Sample, Viewer } from '../helpers/browser.js';

const PAGES = [
  ['a plain <img src="/online.png">', '/'],
  ['res.locals.userCounter.img()', VIEW_PAGE_PATH],
] as const;
/** The per-browser cap's default (maxStreamsPerBrowser). */
const LIVE = 4;
/** How long a tab may take to show a change on a busy 2-core machine. */
const SCREEN_MS = 15_000;

/** What a tab shows: the live count, the dimmed frame of a count its stream ended with, or neither yet. */
function shown(sample: Sample, counts: readonly number[]): { live?: number; ended?: number } {
  for (const count of counts) if (screenShows(sample, count)) return { live: count };
  for (const count of counts) if (screenShowsEnded(sample, count)) return { ended: count };
  return {};
}

/** Wait until every tab shows the live frame for `count`, looking at each in turn as a reader would. */
async function allShow(tabs: readonly Viewer[], count: number): Promise<void> {
  for (const [i, tab] of tabs.entries()) {
    await tab.show();
    await tab.waitForScreen((sample) => screenShows(sample, count), `tab ${i + 1}: the frame for ${count}`, SCREEN_MS);
  }
}

describe.each(ENGINES)('%s', (engine) => {
  const under = useBrowser(engine);

  test.each(PAGES)('tabs of one profile showing %s, two opened together and a third seconds later, each show the count and are counted', async (_page, path) => {
    const { url, counter } = await startPageApp();
    const profile = await under.browser.newProfile();
    const pair = await Promise.all([profile.open(`${url}${path}`), profile.open(`${url}${path}`)]);
    await eventually(() => counter.count === 2, `the server to count both tabs, it counts ${counter.count}`, SCREEN_MS);
    await allShow(pair, 2);
    // A reader opens another tab a little later.
    await pause(2000);
    const third = await profile.open(`${url}${path}`);
    await eventually(() => counter.count === 3, `the server to count three tabs, it counts ${counter.count}`, SCREEN_MS);
    await allShow([...pair, third], 3);
    expect(counter.count).toBe(3);
  }, 90_000);

  test.each(PAGES)(`ten tabs of a fresh profile showing %s opened at once all load, and an eleventh page; ${LIVE} live tabs show the count the server has, the others the dimmed frame`, async (_page, path) => {
    const { url, counter } = await startPageApp();
    const profile = await under.browser.newProfile();
    const tabs = await Promise.all(Array.from({ length: 10 }, () => profile.open(`${url}${path}`)));
    await eventually(() => counter.count === LIVE, `the server to count ${LIVE}, it counts ${counter.count}`, SCREEN_MS);
    // Every tab loaded its page and shows either the live count or the frame its stream ended with.
    const counts = Array.from({ length: 11 }, (_, i) => i + 1);
    const states = [];
    for (const [i, tab] of tabs.entries()) {
      await tab.show();
      const sample = await tab.waitForScreen((s) => shown(s, counts).live === LIVE || shown(s, counts).ended !== undefined, `tab ${i + 1}: the live ${LIVE} or a dimmed frame`, SCREEN_MS);
      states.push(shown(sample, counts));
    }
    console.log(`[${engine}] ten tabs at once: ${states.map((state) => (state.live ? `live ${state.live}` : `dimmed ${state.ended}`)).join(', ')}; the server counts ${counter.count}`);
    expect(states.filter((state) => state.live === LIVE)).toHaveLength(counter.count);

    const eleventh = await profile.open(`${url}${path}`);
    await eleventh.waitForScreen((sample) => screenShows(sample, LIVE), `the eleventh tab to load and show ${LIVE}`, SCREEN_MS);
    expect(counter.count).toBe(LIVE);
  }, 120_000);
});

describe('firefox, tabs opened every way', () => {
  const under = useBrowser('firefox');

  test.each(PAGES)('showing %s: by goto, by location.href and by window.open, each tab shows the count and is counted', async (_page, path) => {
    const { url, counter } = await startPageApp();
    const profile = (await (under.browser as FirefoxBrowser).newProfile()) as FirefoxProfile;
    const first = await profile.open(`${url}${path}`);
    await first.waitForScreen((sample) => screenShows(sample, 1), 'the first tab: the frame for 1', SCREEN_MS);
    // A second tab on another page of the site follows a link (location.href) back to the image page.
    const second = await profile.open(`${url}/blank`);
    await second.navigateByScript(`${url}${path}`);
    await eventually(() => counter.count === 2, `the server to count two tabs, it counts ${counter.count}`, SCREEN_MS);
    // The first tab opens a third (window.open), as a click on a target=_blank link would.
    const third = await profile.openFrom(first, `${url}${path}`);
    await eventually(() => counter.count === 3, `the server to count three tabs, it counts ${counter.count}`, SCREEN_MS);
    await allShow([first, second, third], 3);
  }, 90_000);
});
