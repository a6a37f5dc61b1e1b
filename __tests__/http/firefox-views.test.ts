// A plain <img src="/online.png"> in Firefox: the request is sent to a URL of its own page view
// (lib/http/replies.ts, redirectToOwnView), since Firefox makes a second tab's request for the same URL
// wait for the first tab's never-ending response. Other engines stream at once.
import { startCounterApp } from '../helpers/counter-app.js';
import { RawConnection } from '../helpers/raw-connection.js';
import { eventually, sleep } from '../helpers/time.js';
import { GECKO_USER_AGENT, USER_AGENTS } from '../helpers/user-agents.js';
import { showsCount } from '../../support/png.js';

const OWN_VIEW = /^\/online\.png\?view=[A-Za-z0-9_-]{12}$/;

test('Firefox asking for the plain URL is sent to a view of its own, cached by no one and not counted; there it streams', async () => {
  const { url, counter } = await startCounterApp();
  const asked = await RawConnection.open(url, { extra: [['User-Agent', GECKO_USER_AGENT]] });
  const head = await asked.waitForHead();
  expect(head.status).toBe(302);
  expect(head.headers.location).toMatch(OWN_VIEW);
  expect(head.headers['cache-control']).toBe('no-store');
  expect(head.headers.vary).toBe('User-Agent');
  expect(head.headers['content-length']).toBe('0');
  await sleep(100);
  expect(counter.count).toBe(0);
  // Every request gets another view.
  const again = await (await RawConnection.open(url, { extra: [['User-Agent', GECKO_USER_AGENT]] })).waitForHead();
  expect(again.headers.location).not.toBe(head.headers.location);

  const followed = await RawConnection.open(url, { path: String(head.headers.location), extra: [['User-Agent', GECKO_USER_AGENT]] });
  expect((await followed.waitForHead()).status).toBe(200);
  await followed.waitForLastPart((png) => showsCount(png, 1), 'the followed view to show 1');
  expect(counter.count).toBe(1);
});

test("the redirect keeps the request's own query (a room) and the counter's mount path", async () => {
  const { url } = await startCounterApp({ room: (req) => req.query.page as string | undefined }, { mount: '/counter' });
  const head = await (await RawConnection.open(`${url}`, { path: '/counter/online.png?page=news', extra: [['User-Agent', GECKO_USER_AGENT]] })).waitForHead();
  expect(head.status).toBe(302);
  expect(head.headers.location).toMatch(/^\/counter\/online\.png\?page=news&view=[A-Za-z0-9_-]{12}$/);
});

test('Chromium, WebKit, Firefox on iPhone (WebKit) and clients without a User-Agent stream the plain URL at once', async () => {
  const { url, counter } = await startCounterApp();
  for (const userAgent of [USER_AGENTS.chromium, USER_AGENTS.safariMac, USER_AGENTS.firefoxIphone, undefined]) {
    const viewer = await RawConnection.open(url, { extra: userAgent ? [['User-Agent', userAgent]] : [] });
    expect((await viewer.waitForHead()).status).toBe(200);
  }
  await eventually(() => counter.count === 4, 'four streams');
});

test('a refused request is refused, not redirected: no Referer, a bad room name', async () => {
  const { url } = await startCounterApp({ room: (req) => req.query.page as string | undefined });
  const direct = await RawConnection.send(url, `GET /online.png HTTP/1.1\r\nHost: x\r\nUser-Agent: ${GECKO_USER_AGENT}\r\n\r\n`);
  expect((await direct.waitForHead()).status).toBe(403);
  const badRoom = await RawConnection.open(url, { path: '/online.png?page=%07', extra: [['User-Agent', GECKO_USER_AGENT]] });
  expect((await badRoom.waitForHead()).status).toBe(400);
});
