// The demo page itself (`npm run demo`, started as a child process) in Chromium, served directly
// and behind proxies that break its stream (where its hint must show).
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
import { startProxy } from '../helpers/proxies.js';
import type { ProxyConfig } from '../helpers/proxies.js';

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

/** The demo page's hint once its script has compared the image with the count: shown or not, and its text. */
async function hintOf(viewer: ViewerPage, shown: boolean, timeoutMs: number): Promise<string> {
  const selector = shown ? '#stale:not([hidden])' : '#stale[data-checked][hidden]';
  await viewer.page.waitForSelector(selector, { state: 'attached', timeout: timeoutMs });
  return (await viewer.page.textContent('#stale'))?.replace(/\s+/g, ' ').trim() ?? '';
}

test('served directly, the demo page says nothing about its image once it has checked it', async () => {
  const viewer = await chromium.browser.open(`${demo!.url}/`);
  await hintOf(viewer, false, 15_000);
});

describe.each([
  ['that cuts the stream (HAProxy, an idle limit under the keep-alive)', { program: 'haproxy', file: '__tests__/fixtures/failing-configs/haproxy-short-timeout.cfg' }],
  ['that holds the stream back (Varnish, beresp.do_stream = false)', { program: 'varnish', file: '__tests__/fixtures/failing-configs/varnish-no-stream.vcl' }],
] as const)('behind a proxy %s', (_what: string, config: ProxyConfig) => {
  test('the demo page says its image is not the live count, and where to look', async () => {
    const proxy = await startProxy(config, Number(new URL(demo!.url).port));
    const started = Date.now();
    const viewer = await chromium.browser.open(`${proxy.url('http/1.1')}/`);
    const text = await hintOf(viewer, true, 20_000);
    console.log(`[demo behind ${proxy.label}] the hint showed ${Date.now() - started} ms after navigation: "${text.slice(0, 80)}…"`);
    expect(text).toContain('This image is not showing the live count.');
    expect(text).toContain('Deploying');
  });
});
