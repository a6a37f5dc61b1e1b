// An ended stream says so (README, Shutting down): an <img> keeps the last frame of a stream the
// server ends and never reconnects, so close(), maxStreamMs and the per-browser cap end it with
// its count drawn as ended (lib/frames/ended-frames.ts), unless `endedFrame: false`. Over HTTP; the
// real-browser check is ending.test.ts.
import type { RenderContext } from '../../lib/index.js';
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually, sleep } from '../helpers/time.js';
import { expectedEndedFrame, expectedFrame, samePixels, showsCount } from '../../support/png.js';
import { openAccepted, Viewer } from '../helpers/viewer.js';

/** An offset that tells a custom drawing's ended frames from its live ones. */
const ENDED = 1000;

/** A custom drawing of its own ending: the frame of `count + ENDED` when ended. */
function drawingWithEnding(endedDrawing: (count: number) => Buffer | Promise<Buffer> = (count) => expectedFrame(count + ENDED)) {
  const endedCalls: number[] = [];
  const render = (count: number, { ended }: RenderContext) => {
    if (!ended) return expectedFrame(count);
    endedCalls.push(count);
    return endedDrawing(count);
  };
  return { render, endedCalls };
}

function endsWithCloseDelimiter(viewer: Viewer): boolean {
  const boundary = /boundary=(\S+)/.exec(String(viewer.headers['content-type']))![1];
  return viewer.body.toString('latin1').endsWith(`\r\n--${boundary}--\r\n`);
}

/** How long `promise` took; fails past `ms`. */
async function within(ms: number, what: string, promise: Promise<unknown>): Promise<number> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms)));
  try {
    await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
  return Date.now() - started;
}

test('a custom render draws its own ending: close() and maxStreamMs ask it with ended: true, once per count however many streams end', async () => {
  const { render, endedCalls } = drawingWithEnding();
  const { url, counter } = await startCounterApp({ render });
  const viewers = await Promise.all(Array.from({ length: 20 }, () => openAccepted(url)));
  await eventually(() => counter.count === 20, 'count 20');
  for (const viewer of viewers) await viewer.waitForLastFrame((png) => showsCount(png, 20), 'every stream shows 20', 10_000);
  await within(5000, 'close()', counter.close());
  for (const viewer of viewers) {
    await viewer.waitForEnd();
    expect(showsCount(viewer.lastFrame!, 20 + ENDED)).toBe(true);
    expect(endsWithCloseDelimiter(viewer)).toBe(true);
  }
  expect(endedCalls).toEqual([20]);

  const expiring = drawingWithEnding();
  const short = await startCounterApp({ render: expiring.render, maxStreamMs: 500 });
  const viewer = await openAccepted(short.url);
  await viewer.waitForEnd();
  expect(showsCount(viewer.lastFrame!, 1 + ENDED)).toBe(true);
  expect(expiring.endedCalls).toEqual([1]);
  await eventually(() => short.counter.count === 0, 'the ended stream no longer counted');
});

test('endedFrame: false: close(), maxStreamMs and the per-browser cap end streams with their last live frame, never asking for an ended one', async () => {
  const { render, endedCalls } = drawingWithEnding();
  const { url, counter } = await startCounterApp({ render, endedFrame: false });
  const first = await openAccepted(url);
  const cookie = /^[^;]+/.exec(first.headers['set-cookie']![0])![0];
  const sameBrowser = [first];
  for (let n = 2; n <= 4; n++) sameBrowser.push(await openAccepted(url, { Cookie: cookie }));
  await eventually(() => counter.count === 4, 'count 4');
  await first.waitForLastFrame((png) => showsCount(png, 4), 'the first tab shows 4');
  // A fifth tab of the browser ends its oldest.
  sameBrowser.push(await openAccepted(url, { Cookie: cookie }));
  await first.waitForEnd();
  expect(showsCount(first.lastFrame!, 4)).toBe(true);
  expect(endsWithCloseDelimiter(first)).toBe(true);
  await eventually(() => counter.count === 4, 'count 4 again');
  for (const viewer of sameBrowser.slice(1)) await viewer.waitForLastFrame((png) => showsCount(png, 4), 'the live tabs show 4');
  await counter.close();
  for (const viewer of sameBrowser.slice(1)) {
    await viewer.waitForEnd();
    expect(showsCount(viewer.lastFrame!, 4)).toBe(true);
  }

  const short = await startCounterApp({ render, endedFrame: false, maxStreamMs: 500 });
  const expiring = await openAccepted(short.url);
  await expiring.waitForEnd();
  expect(showsCount(expiring.lastFrame!, 1)).toBe(true);
  expect(endsWithCloseDelimiter(expiring)).toBe(true);
  expect(endedCalls).toEqual([]);
});

test.each([
  ['throws', () => Promise.reject(new Error('no ending today')), /no ending today/],
  ['never resolves', () => new Promise<Buffer>(() => undefined), /The ended frame for 2 took more than 1000 ms to draw/],
])('close() still ends every stream within its grace when the ended frame %s: the latest frame stays, the error is reported', async (_what, endedDrawing, reported) => {
  const { render } = drawingWithEnding(endedDrawing);
  const { url, counter } = await startCounterApp({ render });
  const errors: Error[] = [];
  counter.events.on('error', (error) => errors.push(error));
  const viewers = [await openAccepted(url), await openAccepted(url)];
  for (const viewer of viewers) await viewer.waitForLastFrame((png) => showsCount(png, 2), 'both show 2');
  // The grace is 2 s; a drawing gets 1 s of it.
  await within(3000, 'close()', counter.close());
  for (const viewer of viewers) {
    await viewer.waitForEnd();
    expect(endsWithCloseDelimiter(viewer)).toBe(true);
    expect(showsCount(viewer.lastFrame!, 2)).toBe(true);
  }
  expect(counter.count).toBe(0);
  expect(errors.map((error) => error.message)).toEqual([expect.stringMatching(reported)]);
});

test('while its ended frame is drawn a stream shows no newer count: it ends on the count it showed', async () => {
  let drawing = false;
  const { render } = drawingWithEnding(async (count) => {
    drawing = true;
    await sleep(800);
    return expectedFrame(count + ENDED);
  });
  const { url } = await startCounterApp({ render, maxStreamMs: 1000 });
  const first = await openAccepted(url);
  await first.waitForLastFrame((png) => showsCount(png, 1), 'the first viewer shows 1');
  await eventually(() => drawing, 'the first stream to reach maxStreamMs', 5000);
  // A join while the first stream's ending is drawn: the others are shown 2 at once.
  const second = await openAccepted(url);
  await second.waitForLastFrame((png) => showsCount(png, 2), 'the second viewer shows 2');
  await first.waitForEnd();
  expect(first.frames.some((png) => showsCount(png, 2))).toBe(false);
  expect(showsCount(first.lastFrame!, 1 + ENDED)).toBe(true);
});

test('draining (README, Shutting down): after server.close() open streams stay live and counted until counter.close() ends them dimmed', async () => {
  const { url, counter, server } = await startCounterApp({ keepAliveMs: 200 });
  const viewer = await openAccepted(url);
  await viewer.waitForLastFrame((png) => showsCount(png, 1), 'the viewer shows 1');
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
  // New connections are refused; the open stream goes on (keep-alive re-sends arrive) and counts.
  await expect(fetch(`${url}/online.json`)).rejects.toThrow();
  const frames = viewer.frames.length;
  await viewer.waitForFrames(frames + 2);
  expect(viewer.ended).toBe(false);
  expect(counter.count).toBe(1);
  await counter.close();
  await viewer.waitForEnd();
  expect(samePixels(viewer.lastFrame!, expectedEndedFrame(1))).toBe(true);
  await within(3000, 'server.close() once the streams ended', serverClosed);
});
