// res.locals.userCounter (lib/http/page-view.ts): the counter's image for one page view, with a URL of
// its own (no browser shares one tab's stream with another) and the browser cookie set on the
// page's own response (tabs loading together are one browser before any image is asked for).
import express from 'express';
import type { Express } from 'express';
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import { USER_AGENTS } from '../helpers/user-agents.js';
import { openAccepted } from '../helpers/viewer.js';

const COOKIE = /^user_counter_browser=([A-Za-z0-9_-]{22}); Path=(\S+); HttpOnly; SameSite=Lax(; Secure)?$/;
const PAGE_IMG = /^<img alt="Users online" width="200" height="30" src="\/online\.png\?view=([A-Za-z0-9_-]{12})">$/;

/** Pages at `/` (the image tag), `/src` (src twice), `/attrs` (attributes and a room's query). */
function servePages(app: Express): void {
  app.get('/', (_req, res) => res.send(res.locals.userCounter.img()));
  app.get('/src', (_req, res) => res.json([res.locals.userCounter.src, res.locals.userCounter.src]));
  app.get('/attrs', (_req, res) => {
    res.send(res.locals.userCounter.img({ alt: '"<Live>" & co', class: 'counter', width: 100, hidden: false, decoding: 'async', ismap: true }, { page: 'a b' }));
  });
}

async function page(url: string, headers: Record<string, string> = {}): Promise<{ body: string; setCookie: string[] }> {
  const response = await fetch(url, { headers: { 'User-Agent': USER_AGENTS.chromium, ...headers } });
  return { body: await response.text(), setCookie: response.headers.getSetCookie() };
}

test('userCounter.img() is an <img> of the image size with a URL of its own for each page view; src is that URL', async () => {
  const { url } = await startCounterApp(undefined, { after: servePages });
  const views = [await page(`${url}/`), await page(`${url}/`)];
  const ids = views.map(({ body }) => PAGE_IMG.exec(body)?.[1]);
  expect(ids[0]).toBeDefined();
  expect(ids[1]).toBeDefined();
  expect(ids[0]).not.toBe(ids[1]);
  const [first, second] = JSON.parse((await page(`${url}/src`)).body) as string[];
  expect(first).toMatch(/^\/online\.png\?view=[A-Za-z0-9_-]{12}$/);
  expect(second).toBe(first);
});

test('attributes are written escaped after the defaults they replace; a query names a room; a bad attribute name throws', async () => {
  const { url } = await startCounterApp(undefined, {
    after: (app) => {
      servePages(app);
      app.get('/bad', (_req, res) => res.send(res.locals.userCounter.img({ 'onload="x"': 'y' })));
    },
  });
  expect((await page(`${url}/attrs`)).body).toMatch(
    /^<img alt="&quot;&lt;Live&gt;&quot; &amp; co" width="100" height="30" class="counter" decoding="async" ismap src="\/online\.png\?page=a\+b&amp;view=[A-Za-z0-9_-]{12}">$/,
  );
  const bad = await fetch(`${url}/bad`);
  expect(bad.status).toBe(500);
});

test("the page's response sets the browser cookie for the site's paths; a browser with it gets none on its next page; the stream then sets none", async () => {
  const { url, counter } = await startCounterApp(undefined, { after: servePages });
  const first = await page(`${url}/`);
  expect(first.setCookie).toHaveLength(1);
  const [, id, path, secure] = COOKIE.exec(first.setCookie[0]) ?? [];
  expect({ path, secure }).toEqual({ path: '/', secure: undefined });
  const cookie = `user_counter_browser=${id}`;
  expect((await page(`${url}/`, { Cookie: cookie })).setCookie).toEqual([]);
  const src = PAGE_IMG.exec(first.body)![0].match(/src="([^"]+)"/)![1];
  const stream = await openAccepted(`${url}`, { Cookie: cookie, 'User-Agent': USER_AGENTS.chromium });
  expect(stream.headers['set-cookie']).toBeUndefined();
  await eventually(() => counter.count === 1, 'the stream to count');
  expect(src).toMatch(/^\/online\.png\?view=/);
});

test('ten pages asked for at once by one browser with no cookie yet are given one id; another browser another', async () => {
  const { url } = await startCounterApp(undefined, { after: servePages });
  const pages = await Promise.all(Array.from({ length: 10 }, () => page(`${url}/`)));
  const ids = new Set(pages.map(({ setCookie }) => COOKIE.exec(setCookie[0])?.[1]));
  expect(ids.size).toBe(1);
  const other = await page(`${url}/`, { 'User-Agent': USER_AGENTS.firefoxLinux });
  expect(ids.has(COOKIE.exec(other.setCookie[0])?.[1])).toBe(false);
});

test('Secure on HTTPS (behind a trusted proxy that says so); no cookie over HTTP/2 or with maxStreamsPerBrowser: 0', async () => {
  const secured = await startCounterApp(undefined, { before: (app) => app.set('trust proxy', 'loopback'), after: servePages });
  const overHttps = await page(`${secured.url}/`, { 'X-Forwarded-Proto': 'https' });
  expect(COOKIE.exec(overHttps.setCookie[0])?.[3]).toBe('; Secure');
  const overHttp2 = await page(`${secured.url}/`, { 'X-Forwarded-Http-Version': '2.0', 'User-Agent': USER_AGENTS.edge });
  expect(overHttp2.setCookie).toEqual([]);
  expect(overHttp2.body).toMatch(PAGE_IMG);
  const off = await startCounterApp({ maxStreamsPerBrowser: 0 }, { after: servePages });
  const unset = await page(`${off.url}/`);
  expect(unset.setCookie).toEqual([]);
  expect(unset.body).toMatch(PAGE_IMG);
});

test('under a mount path the image URL includes it, and the cookie is for the paths under it, on the page and on the stream', async () => {
  const { url, counter } = await startCounterApp(undefined, {
    mount: '/counter',
    after: (app) => app.get('/counter/page', (_req, res) => res.send(res.locals.userCounter.img())),
  });
  const view = await page(`${url}/counter/page`);
  const src = /src="([^"]+)"/.exec(view.body)?.[1];
  expect(src).toMatch(/^\/counter\/online\.png\?view=[A-Za-z0-9_-]{12}$/);
  expect(COOKIE.exec(view.setCookie[0])?.[2]).toBe('/counter');
  const stream = await openAccepted(`${url}/counter`, { 'User-Agent': USER_AGENTS.safariMac });
  expect(COOKIE.exec(String(stream.headers['set-cookie']))?.[2]).toBe('/counter');
  await eventually(() => counter.count === 1, 'the stream under /counter to count');
});

test("the page is sent no-store unless it set its own Cache-Control (a kept copy would reuse the view)", async () => {
  const { url } = await startCounterApp(undefined, {
    after: (app) => {
      servePages(app);
      app.get('/cached', (_req, res) => res.set('Cache-Control', 'public, max-age=60').send(res.locals.userCounter.img()));
      app.get('/without', (_req, res) => res.send('no image here'));
    },
  });
  expect((await fetch(`${url}/`)).headers.get('cache-control')).toBe('no-store');
  expect((await fetch(`${url}/cached`)).headers.get('cache-control')).toBe('public, max-age=60');
  expect((await fetch(`${url}/without`)).headers.get('cache-control')).toBeNull();
});
