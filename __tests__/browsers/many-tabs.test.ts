// Many tabs over HTTP/1.1 (README, Browsers, Many tabs): a browser keeps six connections to a
// host and each tab's image holds one, so the counter keeps at most maxStreamsPerBrowser (4)
// streams per browser and ends the oldest with a dimmed frame. Ten tabs of one profile opened
// one after another must all load, and a dimmed tab reloaded is live again. (Ten opened at once,
// in every engine: tabs.test.ts.)
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import { screenShows, screenShowsEnded, servePage, useBrowser } from '../helpers/browser.js';
import type { Sample, Viewer } from '../helpers/browser.js';

const TABS = 10;
const LIVE = 4;

/** The count whose ended frame is on screen, if one is. */
function endedCountShown(sample: Sample): number | undefined {
  for (let count = 1; count <= LIVE + 1; count++) if (screenShowsEnded(sample, count)) return count;
  return undefined;
}

/** The tab's page has loaded: its `<img>` is laid out (a sample can be taken), whatever the image shows. */
function loaded(tab: Viewer, what: string): Promise<Sample> {
  return tab.waitForScreen(() => true, what);
}

describe('chromium, straight to the app over HTTP/1.1', () => {
  const launched = useBrowser('chromium');

  test(`${TABS} tabs of one profile opened one after another all load; the ${LIVE} newest are live, the others dimmed, and the server counts ${LIVE}`, async () => {
    const { url, counter } = await startCounterApp(undefined, { after: servePage });
    const profile = await launched.browser.newProfile();
    const tabs: Viewer[] = [];
    const loadMs: number[] = [];
    for (let n = 1; n <= TABS; n++) {
      const tab = await profile.open(`${url}/`);
      tabs.push(tab);
      // The tab's page loaded and its image is live: it shows the frame for the browser's live streams.
      await tab.waitForScreen((sample) => screenShows(sample, Math.min(n, LIVE)), `tab ${n} to load and show ${Math.min(n, LIVE)}`);
      loadMs.push(Date.now() - tab.navigatedAt);
    }
    await eventually(() => counter.count === LIVE, `the server to count ${LIVE}, it counts ${counter.count}`, 10_000);
    const ended: (number | undefined)[] = [];
    for (const tab of tabs.slice(0, TABS - LIVE)) {
      const sample = await tab.waitForScreen((s) => endedCountShown(s) !== undefined, 'an older tab to show the dimmed frame');
      ended.push(endedCountShown(sample));
    }
    for (const tab of tabs.slice(TABS - LIVE)) await tab.waitForScreen((sample) => screenShows(sample, LIVE), `a newest tab to show ${LIVE}`);
    console.log(`[chromium] ${TABS} tabs: each loaded and showed its count in ${loadMs.join(', ')} ms; the older tabs show the dimmed frame of ${ended.join(', ')}`);
    expect(counter.count).toBe(LIVE);

    // An eleventh page still loads, and a dimmed tab reloaded is live again.
    const eleventh = await profile.open(`${url}/`);
    await eleventh.waitForScreen((sample) => screenShows(sample, LIVE), `an eleventh tab to load and show ${LIVE}`);
    await tabs[0].reload();
    await tabs[0].waitForScreen((sample) => screenShows(sample, LIVE), `the reloaded first tab to be live, showing ${LIVE}`);
    expect(counter.count).toBe(LIVE);
  }, 180_000);
});
