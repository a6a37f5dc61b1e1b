// The demo page itself (`npm run demo`, started as a child process) in Chromium.
// With SCREENSHOT_DIR set, the first page is saved there as it goes 1 -> 2 -> 1.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  describeSample,
  joinAndWait,
  leaveAndWait,
  openAndWatch,
  screenShows,
  showsText,
  startDemo,
  useChromium,
} from '../helpers/browser.js';
import type { DemoServer, ViewerPage } from '../helpers/browser.js';

const chromium = useChromium();
let demo: DemoServer | undefined;

beforeAll(async () => {
  demo = await startDemo();
}, 60_000);

afterAll(async () => {
  await demo?.stop();
});

async function saveScreenshot(viewer: ViewerPage, name: string): Promise<void> {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${name}.png`), await viewer.page.screenshot());
}

test('the demo page shows 1 soon after navigation, 2 when a second viewer opens it, and 1 again when that viewer leaves', async () => {
  const url = `${demo!.url}/`;
  const watched = await openAndWatch(chromium.browser, url);
  await watched.sampler.sampleAfter(watched.settled.t + 300);
  await saveScreenshot(watched.viewer, 'demo-1-one-viewer');

  const { viewer: second, change: joined } = await joinAndWait(chromium.browser, url, watched.sampler, 2);
  await watched.sampler.sampleAfter(joined.sample.t + 300);
  await saveScreenshot(watched.viewer, 'demo-2-two-viewers');
  await saveScreenshot(second, 'demo-2-second-viewer');

  const left = await leaveAndWait(second, watched.sampler, 1);
  await watched.sampler.sampleAfter(left.sample.t + 300);
  await saveScreenshot(watched.viewer, 'demo-3-one-viewer-again');
  console.log(
    `[demo] first frame on screen ${watched.visibleMs} ms after navigation (the frame for 1 at ${watched.settledMs} ms); ` +
      `a second viewer joined: 2 after ${joined.ms} ms; it left: 1 after ${left.ms} ms`,
  );

  expect(watched.visibleMs).toBeLessThan(2000);
  expect(joined.ms).toBeLessThan(2000);
  expect(left.ms).toBeLessThan(2000);
  const samples = watched.sampler.after(watched.first.t - 1);
  expect(samples.filter((sample) => !showsText(sample)).map((sample) => describeSample(sample, watched.viewer.navigatedAt))).toEqual([]);
  expect(screenShows(samples[samples.length - 1], 1)).toBe(true);
  // The count as JSON agrees with the screen.
  const json = (await (await fetch(`${demo!.url}/online.json`)).json()) as { count: number };
  expect(json).toEqual({ count: 1 });
});
