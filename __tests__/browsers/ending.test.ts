// An ended stream says so, in a real browser: an <img> keeps the last part of a stream the server
// ended (close(), maxStreamMs) and never reconnects, so that part must be the count drawn as ended.
import { closeAllApps, eventually } from '../helpers/counter-app.js';
import { closeAllViewers, ENGINES, screenShows, screenShowsEnded, startPageApp, useBrowser } from '../helpers/browser.js';
import type { Sample, Viewer } from '../helpers/browser.js';

afterEach(async () => {
  await closeAllViewers();
  await closeAllApps();
});

/** Sample `viewer` until `check` holds (up to 15 s); the error names what it showed last. */
async function waitForScreen(viewer: Viewer, check: (sample: Sample) => boolean, what: string): Promise<Sample> {
  const deadline = Date.now() + 15_000;
  let last = 'nothing yet';
  for (;;) {
    try {
      const sample = await viewer.sample();
      if (check(sample)) return sample;
      last = `naturalWidth=${sample.naturalWidth}, live 1: ${screenShows(sample, 1)}`;
    } catch (error) {
      last = `an error: ${(error as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for the image to show ${what}; last saw ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.each(ENGINES)('%s', (engine) => {
  const launched = useBrowser(engine);

  test('after close() (a deploy) the image keeps the count it showed, dimmed, whole', async () => {
    const { url, counter } = await startPageApp();
    const viewer = await launched.browser.open(`${url}/`);
    await waitForScreen(viewer, (sample) => screenShows(sample, 1), 'the live frame for 1');
    await counter.close();
    await waitForScreen(viewer, (sample) => screenShowsEnded(sample, 1), 'the ended frame for 1');
    // It stays: the stream is over, the image is not broken.
    await eventually(() => counter.count === 0, 'count 0');
    const later = await viewer.sample();
    expect(later.naturalWidth).toBe(200);
    expect(screenShowsEnded(later, 1)).toBe(true);
  }, 60_000);
});

describe('chromium, maxStreamMs', () => {
  const launched = useBrowser('chromium');

  test('after maxStreamMs the image shows the count it showed, dimmed, and the viewer is no longer counted', async () => {
    const { url, counter } = await startPageApp({ maxStreamMs: 2000 });
    const viewer = await launched.browser.open(`${url}/`);
    await waitForScreen(viewer, (sample) => screenShows(sample, 1), 'the live frame for 1');
    await waitForScreen(viewer, (sample) => screenShowsEnded(sample, 1), 'the ended frame for 1');
    await eventually(() => counter.count === 0, 'count 0');
  }, 60_000);
});
