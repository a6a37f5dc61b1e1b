// Chromium-only checks that are not about the engine: the stream through compression(), and
// what arrives on the wire as Chromium's network layer reports it (CDP). Every engine's own
// behaviour is in browser-engines.test.ts and browser-churn.test.ts.
import compression from 'compression';
import type { Express } from 'express';
import { eventually } from '../helpers/time.js';
import {
  churn,
  describeSample,
  differingPixels,
  joinAndWait,
  leaveAndWait,
  MAX_DIFFERING_PIXELS,
  openAndWatch,
  peakCount,
  recordImageData,
  screenShows,
  showsWholeFrame,
  startPageApp,
  summarize,
  unsteadySamples,
  useChromium,
} from '../helpers/browser.js';
import type { ChurnStep } from '../helpers/browser.js';

const chromium = useChromium();

// Mounted first, as apps do; the stream must pass through it unbuffered.
const behindCompression = (app: Express): void => {
  app.use(compression());
};

describe('behind compression()', () => {
  test('the first frame shows soon after navigation and settles on the frame the server rendered for 1', async () => {
    const { url, counter } = await startPageApp(undefined, { before: behindCompression });
    const watched = await openAndWatch(chromium.browser, `${url}/`);
    const later = await watched.sampler.sampleAfter(watched.settled.t + 500);
    console.log(`[compression] first frame on screen ${watched.visibleMs} ms after navigation; the frame for 1 at ${watched.settledMs} ms`);

    expect(watched.visibleMs).toBeLessThan(2000);
    expect(counter.count).toBe(1);
    expect(later.naturalWidth).toBe(200);
    expect(differingPixels(later.pixels, 1)).toBeLessThanOrEqual(MAX_DIFFERING_PIXELS);
    const after = watched.sampler.after(watched.settled.t - 1);
    expect(after.filter((sample) => !screenShows(sample, 1)).map((sample) => describeSample(sample, watched.viewer.navigatedAt))).toEqual([]);
  });

  test('a second viewer makes the first page show 2, and its leaving shows 1 again, with no blank in between', async () => {
    const { url, counter } = await startPageApp(undefined, { before: behindCompression });
    const watched = await openAndWatch(chromium.browser, `${url}/`);

    const { viewer: second, change: joined } = await joinAndWait(chromium.browser, `${url}/`, watched.sampler, 2);
    expect(counter.count).toBe(2);
    await watched.sampler.sampleAfter(joined.sample.t + 300);
    const left = await leaveAndWait(second, watched.sampler, 1);
    await watched.sampler.sampleAfter(left.sample.t + 300);
    console.log(`[compression] a second viewer joined: the first page showed 2 after ${joined.ms} ms; it left: 1 after ${left.ms} ms`);

    expect(counter.count).toBe(1);
    // Never blank; between the join and the leave, once 2 is up it stays; after the leave, once 1 is up it stays.
    expect(unsteadySamples(watched.sampler.after(watched.settled.t), joined, left)).toEqual({ blank: [], notTwoAfterJoin: [], notOneAfterLeave: [] });
  });

  test('every sample is a whole frame of one count across 8 s of joins, leaves and keep-alive re-sends', async () => {
    const plan: ChurnStep[] = ['join', 'join', 'leave', 'quiet', 'leave', 'join'];
    const { url, counter } = await startPageApp({ keepAliveMs: 3000 }, { before: behindCompression });
    const watched = await openAndWatch(chromium.browser, `${url}/`);
    const start = Date.now();
    const changes = await churn(chromium.browser, `${url}/`, watched.sampler, plan);
    await watched.sampler.sampleAfter(start + 8000);
    await watched.sampler.stop();
    const samples = watched.sampler.after(watched.first.t - 1);
    const latency = summarize(changes.map((change) => change.ms));
    console.log(`[compression] ${samples.length} samples, ${changes.length} changes: on screen within median ${latency.median} ms, max ${latency.max} ms`);

    expect(counter.count).toBe(1);
    const counts = Array.from({ length: peakCount(plan) }, (_, i) => i + 1);
    expect(samples.filter((sample) => !showsWholeFrame(sample, counts)).map((sample) => describeSample(sample, start))).toEqual([]);
  }, 60_000);
});

test('Chromium receives keep-alive re-sends as whole frames, and no heartbeat bytes (those are for Gecko)', async () => {
  const keepAliveMs = 3000;
  const { url } = await startPageApp({ keepAliveMs, heartbeatMs: 300 });
  let chunks: { t: number; bytes: number }[] = [];
  const recording = {
    open: (to: string) =>
      chromium.browser.open(to, {
        beforeNavigation: async (page) => {
          chunks = await recordImageData(page);
        },
      }),
  };
  const watched = await openAndWatch(recording, `${url}/`);
  // A frame is hundreds of bytes; a heartbeat is one.
  const frames = (): { t: number; bytes: number }[] => chunks.filter((chunk) => chunk.bytes > 200);
  await eventually(() => frames().length >= 3, 'the first frame and two keep-alive re-sends', 3 * keepAliveMs + 5000);
  await watched.sampler.stop();
  const gaps = frames()
    .slice(1)
    .map((chunk, i) => chunk.t - frames()[i].t);
  console.log(`[wire] ${chunks.length} chunks: ${frames().length} frames, re-sent after ${gaps.join(', ')} ms; chunk sizes ${[...new Set(chunks.map((chunk) => chunk.bytes))].join(', ')}`);

  expect(chunks.filter((chunk) => chunk.bytes <= 200).map((chunk) => `${chunk.bytes} bytes at +${chunk.t - watched.viewer.navigatedAt} ms`)).toEqual([]);
  for (const gap of gaps) {
    expect(gap).toBeGreaterThan(keepAliveMs - 500);
    expect(gap).toBeLessThan(keepAliveMs + 1500);
  }
  const samples = watched.sampler.after(watched.first.t - 1);
  expect(samples.filter((sample) => !showsWholeFrame(sample, [1])).map((sample) => describeSample(sample, watched.viewer.navigatedAt))).toEqual([]);
}, 30_000);
