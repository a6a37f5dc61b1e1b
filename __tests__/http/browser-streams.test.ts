// One browser keeps at most maxStreamsPerBrowser streams over HTTP/1.1 (lib/admission/browser-streams.ts):
// a newer one ends the oldest with its count drawn as ended, so that its tabs can still load pages.
// Browsers are told apart by a cookie (lib/admission/browser-tags.ts); requests that come before any has it
// (tabs loading together) are one browser by address and User-Agent.
import { OptionsError } from '../../lib/index.js';
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import { USER_AGENTS } from '../helpers/user-agents.js';
import { decodePng, expectedEndedFrame, samePixels, showsCount } from '../../support/png.js';
import { openAccepted, Viewer } from '../helpers/viewer.js';

const COOKIE = /^user_counter_browser=([A-Za-z0-9_-]{22}); Path=\/; HttpOnly; SameSite=Lax$/;

/** A browser of its own: a User-Agent no other stream of the test sends. */
const browser = (n: number) => ({ 'User-Agent': `${USER_AGENTS.chromium} test-browser/${n}` });

function cookieOf(viewer: Viewer): string {
  const header = viewer.headers['set-cookie'];
  expect(header).toHaveLength(1);
  const id = COOKIE.exec(header![0])?.[1];
  if (!id) throw new Error(`Not the browser cookie: ${header![0]}`);
  return `user_counter_browser=${id}`;
}

test('a stream without the cookie sets one: a random id, for the stream path only, not readable by scripts; another browser gets another', async () => {
  const { url } = await startCounterApp();
  const [first, second] = [await openAccepted(url, browser(1)), await openAccepted(url, browser(2))];
  expect(cookieOf(first)).not.toBe(cookieOf(second));
  // With its cookie, the browser is not given another.
  const again = await openAccepted(url, { ...browser(1), Cookie: `theme=dark; ${cookieOf(first)}` });
  expect(again.headers['set-cookie']).toBeUndefined();
  // A value that is not one of ours is replaced (by the id its browser was just given).
  const forged = await openAccepted(url, { ...browser(1), Cookie: 'user_counter_browser=../../etc' });
  expect(cookieOf(forged)).toBe(cookieOf(first));
});

test('ten streams of one browser that come before it has the cookie (tabs loading together) are one browser: the newest four stay live', async () => {
  const { url, counter } = await startCounterApp();
  const tabs = await Promise.all(Array.from({ length: 10 }, () => openAccepted(url, browser(1))));
  expect(new Set(tabs.map(cookieOf)).size).toBe(1);
  await eventually(() => counter.count === 4, `count 4, have ${counter.count}`);
  await eventually(() => tabs.filter((tab) => tab.ended).length === 6, 'six tabs to end');
  for (const tab of tabs.filter((tab) => !tab.ended)) await tab.waitForLastFrame((png) => showsCount(png, 4), 'a live tab shows 4');
  // Another browser on the same address is not one of them.
  const other = await openAccepted(url, browser(2));
  expect(cookieOf(other)).not.toBe(cookieOf(tabs[0]));
  await eventually(() => counter.count === 5, 'count 5');
});

test('a fifth stream of one browser ends its oldest with the ended frame of the count it showed; the others stay live', async () => {
  const { url, counter } = await startCounterApp();
  const first = await openAccepted(url, browser(1));
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

test('other browsers and HTTP/2 behind a proxy are never ended', async () => {
  const { url, counter } = await startCounterApp();
  const cookie = cookieOf(await openAccepted(url, browser(1)));
  const otherCookie = cookieOf(await openAccepted(url, browser(2)));
  const viewers: Viewer[] = [];
  for (let i = 0; i < 3; i++) viewers.push(await openAccepted(url, { ...browser(1), Cookie: cookie }));
  for (let i = 0; i < 4; i++) viewers.push(await openAccepted(url, browser(3 + i)));
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
