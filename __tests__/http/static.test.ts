import http from 'node:http';
import type { ServerResponse } from 'node:http';
import type { Request } from 'express';
import { PNG } from 'pngjs';
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually, sleep } from '../helpers/time.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { decodePng, expectedFrame, showsCount } from '../../support/png.js';
import { Viewer } from '../helpers/viewer.js';
import { RawConnection, rawRequest } from '../helpers/raw-connection.js';

// The static fallback: one PNG of the current count for clients that cannot stream.

const CAMO = 'github-camo (876de43e)';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const BINGBOT = 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)';
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The response ended by itself (a stream would not). */
  ended: boolean;
}

/** GET (or HEAD) with exactly these headers; waits for the end, or gives up on a stream after 300 ms. */
function fetchRaw(app: CounterApp, path: string, headers: Record<string, string>, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${app.url}${path}`, { method, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      const answer = (ended: boolean) => ({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ended });
      res.on('end', () => resolve(answer(true)));
      setTimeout(() => {
        req.destroy();
        resolve(answer(false));
      }, 300);
    });
    req.on('error', reject);
    req.end();
  });
}

async function watched(app: CounterApp, n: number): Promise<Viewer> {
  const opened = await Promise.all(Array.from({ length: n }, () => Viewer.open(app.url)));
  await opened[0].waitForLastFrame((png) => showsCount(png, n), `a viewer to see ${n}`);
  return opened[0];
}

test.each([
  ["GitHub's image proxy (no Referer)", CAMO],
  ['Googlebot', GOOGLEBOT],
  ['bingbot', BINGBOT],
])('%s gets one PNG of the current count, kept by no shared cache, and is not counted', async (_who, userAgent) => {
  const app = await startCounterApp();
  const watcher = await watched(app, 2);
  const seen: string[] = [];
  app.counter.events.on('connect', () => seen.push('connect'));

  const answer = await fetchRaw(app, '/online.png', { 'User-Agent': userAgent });
  expect(answer.status).toBe(200);
  expect(answer.ended).toBe(true);
  expect(answer.headers['content-type']).toBe('image/png');
  // The stream's URL: a shared cache ignoring Vary must not hand this still image to browsers.
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(answer.headers['content-length']).toBe(String(answer.body.length));
  expect(answer.headers.vary).toMatch(/User-Agent/);
  expect(answer.headers['x-content-type-options']).toBe('nosniff');
  // One PNG and nothing else: it decodes, and shows the two watching, not three.
  expect(answer.body.subarray(0, 8).toString('latin1')).toBe('\x89PNG\r\n\x1a\n');
  expect(answer.body.toString('latin1').endsWith('IEND\xaeB`\x82')).toBe(true);
  expect(showsCount(answer.body, 2)).toBe(true);

  expect(app.counter.count).toBe(2);
  expect(seen).toEqual([]);
  expect(app.counter.stats()).toMatchObject({ connections: 2, staticImages: 1 });
  await sleep(200);
  expect(showsCount(watcher.lastFrame!, 2)).toBe(true);
});

test('?static=1 from a browser page gives the static image too; a browser without it streams', async () => {
  const app = await startCounterApp();
  const still = await fetchRaw(app, '/online.png?static=1', { 'User-Agent': CHROME, Referer: `${app.url}/` });
  expect([still.status, still.headers['content-type'], still.ended]).toEqual([200, 'image/png', true]);
  expect(showsCount(still.body, 0)).toBe(true);

  const live = await fetchRaw(app, '/online.png', { 'User-Agent': CHROME, Referer: `${app.url}/` });
  expect(live.headers['content-type']).toMatch(/^multipart\/x-mixed-replace/);
  expect(live.ended).toBe(false);
});

test('the static image is of the request room and pixel ratio', async () => {
  const app = await startCounterApp({ room: (req: Request) => req.query.page as string | undefined });
  const inRoom = await Viewer.open(app.url, { path: '/online.png?page=a' });
  await inRoom.waitForLastFrame((png) => showsCount(png, 1), 'room a to show 1');
  await watched(app, 3);

  const ofRoom = await fetchRaw(app, '/online.png?page=a', { 'User-Agent': CAMO });
  expect(showsCount(ofRoom.body, 1)).toBe(true);
  const sharp = await fetchRaw(app, '/online.png?page=a&dpr=2', { 'User-Agent': CAMO });
  expect([decodePng(sharp.body).width, decodePng(sharp.body).height]).toEqual([400, 60]);
  const bad = await fetchRaw(app, '/online.png?page=%01', { 'User-Agent': CAMO });
  expect(bad.status).toBe(400);
});

test('HEAD gets the headers only', async () => {
  const app = await startCounterApp();
  const answer = await fetchRaw(app, '/online.png', { 'User-Agent': CAMO }, 'HEAD');
  expect([answer.status, answer.headers['content-type'], answer.body.length, answer.ended]).toEqual([200, 'image/png', 0, true]);
  expect(Number(answer.headers['content-length'])).toBeGreaterThan(100);
});

test('a repeated request for the same count costs no render', async () => {
  const app = await startCounterApp();
  await fetchRaw(app, '/online.png?dpr=3', { 'User-Agent': CAMO });
  const renders = app.counter.stats().renders;
  for (let i = 0; i < 5; i++) expect((await fetchRaw(app, '/online.png?dpr=3', { 'User-Agent': CAMO })).status).toBe(200);
  expect(app.counter.stats()).toMatchObject({ renders, staticImages: 6 });
});

test('a static image of a room never seen costs no render when the drawing does not depend on the room (a new name per request)', async () => {
  const app = await startCounterApp({ room: (req: Request) => req.query.page as string | undefined });
  // The default room's frames (count 0, at ratio 1) are drawn at start; dpr=3 needs a render of its own, once.
  const renders = app.counter.stats().renders;
  for (let i = 0; i < 40; i++) {
    const answer = await fetchRaw(app, `/online.png?static=1&dpr=3&page=r${i}`, {});
    expect([answer.status, decodePng(answer.body).width]).toEqual([200, 600]);
  }
  expect(app.counter.stats().renders - renders).toBeLessThanOrEqual(1);
  // At ratio 1 the default room's ready frame serves every room: no render at all.
  const atOne = app.counter.stats().renders;
  for (let i = 0; i < 10; i++) expect((await fetchRaw(app, `/online.png?static=1&page=s${i}`, {})).status).toBe(200);
  expect(app.counter.stats().renders).toBe(atOne);
});

test('while streams show the count, the static image is their frame: no render of its own', async () => {
  const drawn = new Map<number, number>();
  const pngOf = (count: number): Buffer => {
    const image = new PNG({ width: 4, height: 4 });
    image.data.fill(count);
    return PNG.sync.write(image);
  };
  const app = await startCounterApp({
    render: (count) => {
      drawn.set(count, (drawn.get(count) ?? 0) + 1);
      return pngOf(count);
    },
  });
  const [watcher] = await Promise.all([Viewer.open(app.url), Viewer.open(app.url)]);
  await watcher.waitForLastFrame((png) => png.equals(pngOf(2)), 'a viewer to see 2');
  expect(drawn.get(2)).toBe(1);
  const answer = await fetchRaw(app, '/online.png', { 'User-Agent': CAMO });
  expect(answer.status).toBe(200);
  expect(answer.body.equals(pngOf(2))).toBe(true);
  expect(drawn.get(2)).toBe(1);
});

test('allowedOrigins still refuses a page of another site; no Referer is allowed', async () => {
  const app = await startCounterApp({ allowedOrigins: ['https://mine.example'] });
  expect((await fetchRaw(app, '/online.png', { 'User-Agent': CAMO })).status).toBe(200);
  expect((await fetchRaw(app, '/online.png?static=1', { Referer: 'https://mine.example/page' })).status).toBe(200);
  const foreign = await fetchRaw(app, '/online.png?static=1', { Referer: 'https://other.example/' });
  expect(foreign.status).toBe(403);
});

test('staticFallback: false streams to everyone, so camo without a Referer gets the 403 of issue 2', async () => {
  const app = await startCounterApp({ staticFallback: false });
  const answer = await fetchRaw(app, '/online.png?static=1', { 'User-Agent': CAMO });
  expect(answer.status).toBe(403);
  expect(app.counter.count).toBe(0);
});

test('staticFallback as a function decides for itself; ?static=1 still applies', async () => {
  const app = await startCounterApp({ staticFallback: (req) => req.headers['x-still'] === 'yes' });
  const decided = await fetchRaw(app, '/online.png', { 'X-Still': 'yes' });
  expect([decided.status, decided.headers['content-type']]).toEqual([200, 'image/png']);
  // The built-in list no longer applies: camo is treated as any client (no Referer: 403).
  expect((await fetchRaw(app, '/online.png', { 'User-Agent': CAMO })).status).toBe(403);
  expect((await fetchRaw(app, '/online.png?static=1', {})).headers['content-type']).toBe('image/png');
});

test('a static request while streams come and go never changes the count', async () => {
  const app = await startCounterApp();
  const answers = await Promise.all(Array.from({ length: 20 }, () => fetchRaw(app, '/online.png', { 'User-Agent': GOOGLEBOT })));
  expect(answers.every((answer) => answer.status === 200 && answer.ended)).toBe(true);
  await eventually(() => app.counter.stats().connections === 0, 'no stream open');
  expect(app.counter.count).toBe(0);
});

test('only ?static=1, a URL of its own, may be kept by a shared cache; the stream URL answered with a still image may not', async () => {
  const app = await startCounterApp();
  const own = await fetchRaw(app, '/online.png?static=1', { 'User-Agent': CHROME, Referer: `${app.url}/` });
  expect(own.headers['cache-control']).toBe('public, max-age=10');
  for (const userAgent of [CAMO, GOOGLEBOT]) {
    const onStreamUrl = await fetchRaw(app, '/online.png', { 'User-Agent': userAgent });
    expect(onStreamUrl.headers['content-type']).toBe('image/png');
    expect(onStreamUrl.headers['cache-control']).toBe('no-store');
    expect(onStreamUrl.headers['cache-control']).not.toMatch(/public|max-age/);
  }
  const decided = await startCounterApp({ staticFallback: () => true });
  expect((await fetchRaw(decided, '/online.png', { Referer: `${decided.url}/` })).headers['cache-control']).toBe('no-store');
});

test('a static image whose render finishes after another middleware answered (a timeout) is dropped, with no unhandled rejection', async () => {
  // Jest fails the test on an unhandled rejection (Node 20 would end the process).
  const answered: ServerResponse[] = [];
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let rendered!: () => void;
  const renderDone = new Promise<void>((resolve) => (rendered = resolve));
  const app = await startCounterApp(
    {
      render: async (count) => {
        await gate;
        setImmediate(rendered);
        return expectedFrame(count);
      },
    },
    {
      // A timeout middleware: it starts its own answer while the counter still renders.
      before: (express) =>
        express.use((_req, res, next) => {
          setTimeout(() => {
            res.writeHead(503, { 'Content-Type': 'text/plain' });
            res.write('timed out');
            answered.push(res);
          }, 20);
          next();
        }),
    },
  );
  // The timeout's answer is still being written when the render finishes.
  const connection = await RawConnection.send(app.url, rawRequest('GET', '/online.png?static=1', [['Host', new URL(app.url).host]]));
  expect((await connection.waitForHead()).status).toBe(503);
  open();
  await renderDone;
  // Let the route's callbacks, and Node's unhandled-rejection check after them, run.
  await new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => setImmediate(resolve));
  expect(app.counter.stats().staticImages).toBe(0);
  for (const res of answered) res.end();
  await connection.waitFor((c) => c.body.toString() === 'timed out', "the timeout's whole answer");
  connection.destroy();
});
