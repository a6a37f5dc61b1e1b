// Twenty seconds of people coming and going, in each engine: the watched page's image is
// a whole frame of one count in every sample (never blank, broken or half-drawn).
import {
  BLANK_PATH,
  churn,
  describeSample,
  ENGINES,
  openAndWatch,
  peakCount,
  showsWholeFrame,
  startPageApp,
  summarize,
  useBrowser,
} from '../helpers/browser.js';
import type { ChurnStep, Engine } from '../helpers/browser.js';

const RUN_MS = 20_000;
const KEEP_ALIVE_MS = 3000;
/** Joins, leaves by closing and by navigating away, and quiet spells longer than the keep-alive. */
const PLAN: ChurnStep[] = ['join', 'join', 'leave', 'quiet', 'join', 'navigate-away', 'leave', 'quiet', 'join', 'join', 'navigate-away', 'join', 'leave', 'quiet'];

/**
 * How long each change may take to reach the screen. Firefox ends a page's stream after
 * it navigated away only when a whole part arrives: the next keep-alive at the latest.
 */
const CHANGE_MS: Record<Engine, number> = { chromium: 3000, firefox: 3000 + KEEP_ALIVE_MS, webkit: 3000 };

describe.each(ENGINES)('%s', (engine) => {
  const under = useBrowser(engine);

  test(`every sample is a whole frame of one count across ${RUN_MS / 1000} s of joins, leaves and keep-alive re-sends`, async () => {
    const { url, counter } = await startPageApp({ keepAliveMs: KEEP_ALIVE_MS });
    const watched = await openAndWatch(under.browser, `${url}/`, { timeoutMs: 3000 });
    const start = Date.now();
    const changes = await churn(under.browser, `${url}/`, watched.sampler, PLAN, { awayUrl: `${url}${BLANK_PATH}`, timeoutMs: CHANGE_MS[engine] });
    await watched.sampler.sampleAfter(start + RUN_MS);
    await watched.sampler.stop();
    const end = Date.now();
    const samples = watched.sampler.after(watched.first.t - 1);
    const latency = summarize(changes.map((change) => change.ms));
    console.log(
      `[${engine}] ${samples.length} samples (${watched.sampler.failed} failed to take) over ${((end - start) / 1000).toFixed(1)} s, ` +
        `${changes.length} changes: on screen within median ${latency.median} ms, p90 ${latency.p90} ms, max ${latency.max} ms`,
    );

    expect(end - start).toBeGreaterThanOrEqual(RUN_MS);
    expect(samples.length).toBeGreaterThan(RUN_MS / 250);
    expect(counter.count).toBe(1);
    // Every sample: the image has loaded at its own width (not blank, not a broken-image
    // icon) and shows exactly the frame of one of the counts the page has had.
    const counts = Array.from({ length: peakCount(PLAN) }, (_, i) => i + 1);
    const bad = samples.filter((sample) => !showsWholeFrame(sample, counts));
    expect(bad.map((sample) => describeSample(sample, start))).toEqual([]);
  }, RUN_MS + 90_000);
});
