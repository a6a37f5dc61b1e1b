// An ended stream says so, in a real browser: an <img> keeps the last part of a stream the server
// ended (close(), maxStreamMs) and never reconnects, so that part must be the count drawn as ended.
import { eventually } from '../helpers/time.js';
import { ENGINES, screenShows, screenShowsEnded, startPageApp, useBrowser } from '../helpers/browser.js';

describe.each(ENGINES)('%s', (engine) => {
  const launched = useBrowser(engine);

  test('after close() (a deploy) the image keeps the count it showed, dimmed, whole', async () => {
    const { url, counter } = await startPageApp();
    const viewer = await launched.browser.open(`${url}/`);
    await viewer.waitForScreen((sample) => screenShows(sample, 1), 'the live frame for 1');
    await counter.close();
    await viewer.waitForScreen((sample) => screenShowsEnded(sample, 1), 'the ended frame for 1');
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
    await viewer.waitForScreen((sample) => screenShows(sample, 1), 'the live frame for 1');
    await viewer.waitForScreen((sample) => screenShowsEnded(sample, 1), 'the ended frame for 1');
    await eventually(() => counter.count === 0, 'count 0');
  }, 60_000);
});
