// One browser keeps at most maxStreamsPerBrowser streams over HTTP/1.1 (lib/browser-streams.ts):
// a newer one ends the oldest with its count drawn as ended, so that its tabs can still load pages.
import { OptionsError } from '../../lib/index.js';
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import { decodePng, expectedEndedFrame, samePixels, showsCount } from '../../support/png.js';
import { openAccepted, Viewer } from '../helpers/viewer.js';

const COOKIE = /^user_counter_browser=([A-Za-z0-9_-]{22}); Path=\/online\.png; HttpOnly; SameSite=Lax$/;

function cookieOf(viewer: Viewer): string {
  const header = viewer.headers['set-cookie'];
  expect(header).toHaveLength(1);
  const id = COOKIE.exec(header![0])?.[1];
  if (!id) throw new Error(`Not the browser cookie: ${header![0]}`);
  return `user_counter_browser=${id}`;
}

test('a stream without the cookie sets one: a random id, for the stream path only, not readable by scripts', async () => {
  const { url } = await startCounterApp();
  const [first, second] = [await openAccepted(url), await openAccepted(url)];
  expect(cookieOf(first)).not.toBe(cookieOf(second));
  // With its cookie, the browser is not given another.
  const again = await openAccepted(url, { Cookie: `theme=dark; ${cookieOf(first)}` });
  expect(again.headers['set-cookie']).toBeUndefined();
  // A value that is not one of ours is replaced.
  const forged = await openAccepted(url, { Cookie: 'user_counter_browser=../../etc' });
  expect(cookieOf(forged)).toMatch(/^user_counter_browser=/);
});

test('a fifth stream of one browser ends its oldest with the ended frame of the count it showed; the others stay live', async () => {
  const { url, counter } = await startCounterApp();
  const first = await openAccepted(url);
  const cookie = cookieOf(first);
  await first.waitForLastFrame((png) => showsCount(png, 1), 'the first tab shows 1');
  const tabs = [first];
  for (let n = 2; n <= 4; n++) {
    tabs.push(await openAccepted(url, { Cookie: cookie }));
    await eventually(() => counter.count === n, `count ${n}`);
  }
  await first.waitForLastFrame((png) => showsCount(png, 4), 'the first tab shows 4');

  const fifth = await openAccepted(url, { Cookie: cookie });
  await first.waitForEnd();
  // The last part of the ended stream is the count it showed, dimmed; the stream closed cleanly.
  expect(samePixels(first.lastFrame!, expectedEndedFrame(4))).toBe(true);
  expect(first.body.subarray(-40).toString('latin1')).toMatch(/--[A-Za-z0-9]{32}--\r\n$/);
  await eventually(() => counter.count === 4, 'count 4: the ended tab no longer counts');
  for (const tab of [...tabs.slice(1), fifth]) {
    await tab.waitForLastFrame((png) => showsCount(png, 4), 'a live tab shows 4');
    expect(tab.ended).toBe(false);
  }
  // The ended frame is a whole PNG of the image's size, not the live one.
  expect(decodePng(first.lastFrame!).width).toBe(200);
  expect(showsCount(first.lastFrame!, 4)).toBe(false);
});

test('other browsers, requests without the cookie, and HTTP/2 behind a proxy are never ended', async () => {
  const { url, counter } = await startCounterApp();
  const cookie = cookieOf(await openAccepted(url));
  const otherCookie = cookieOf(await openAccepted(url));
  const viewers: Viewer[] = [];
  for (let i = 0; i < 3; i++) viewers.push(await openAccepted(url, { Cookie: cookie }));
  for (let i = 0; i < 4; i++) viewers.push(await openAccepted(url));
  // The proxy says the browser's connection is HTTP/2: its tabs share one connection.
  for (let i = 0; i < 6; i++) viewers.push(await openAccepted(url, { Cookie: otherCookie, 'X-Forwarded-Http-Version': 'HTTP/2.0' }));
  await eventually(() => counter.count === 15, `count 15, have ${counter.count}`);
  for (const viewer of viewers) await viewer.waitForLastFrame((png) => showsCount(png, 15), 'every stream shows 15');
  expect(viewers.every((viewer) => !viewer.ended)).toBe(true);
});

test('maxStreamsPerBrowser: 0 sets no cookie and ends nothing; a bad value is refused when the middleware is made', async () => {
  const { url, counter } = await startCounterApp({ maxStreamsPerBrowser: 0 });
  const viewers = [];
  for (let i = 0; i < 6; i++) viewers.push(await openAccepted(url, { Cookie: 'user_counter_browser=AAAAAAAAAAAAAAAAAAAAAA' }));
  await eventually(() => counter.count === 6, 'count 6');
  expect(viewers.every((viewer) => viewer.headers['set-cookie'] === undefined && !viewer.ended)).toBe(true);
  for (const bad of [-1, 1.5, '4']) {
    await expect(startCounterApp({ maxStreamsPerBrowser: bad as number })).rejects.toThrow(OptionsError);
    await expect(startCounterApp({ maxStreamsPerBrowser: bad as number })).rejects.toThrow(/maxStreamsPerBrowser` must be a whole number, 0 or more/);
  }
});
