import request from 'supertest';
import { MemoryCountStore } from '../../lib/index.js';
import type { Options } from '../../lib/index.js';
import { startCounterApp } from '../helpers/counter-app.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { Viewer } from '../helpers/viewer.js';
import { showsCount } from '../../support/png.js';

/**
 * An app whose store records the count at every change and whose counter records
 * every connect: a refused request must leave no trace in either, at any moment.
 */
async function startRecorded(options: Options = {}): Promise<CounterApp & { counts: number[]; connects: number[] }> {
  const store = new MemoryCountStore();
  const counts: number[] = [];
  store.events.on('change', () => counts.push(store.count()));
  const app = await startCounterApp({ ...options, store });
  const connects: number[] = [];
  app.counter.events.on('connect', ({ count }) => connects.push(count));
  return Object.assign(app, { counts, connects });
}

/** The refusal a 403 must carry: short plain text that tells the author to use an <img>. */
function expectRefusal(res: request.Response): void {
  expect(res.status).toBe(403);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  expect(res.text.length).toBeGreaterThan(0);
  expect(res.text.length).toBeLessThan(200);
  expect(res.headers['content-type']).not.toMatch(/multipart/);
}

describe('default policy (as the 2012 original)', () => {
  test('a stream request with no Referer gets 403, a short text/plain reason mentioning <img, and is not counted', async () => {
    const app = await startRecorded();
    const res = await request(app.url).get('/online.png');
    expectRefusal(res);
    expect(res.text).toContain('<img');
    expect(app.counts).toEqual([]);
    expect(app.connects).toEqual([]);
    expect(app.counter.count).toBe(0);
    expect((await request(app.url).get('/online.json')).text).toBe('{"count":0}');
  });

  test('an empty Referer header counts as no Referer: 403, not counted', async () => {
    const app = await startRecorded();
    const res = await request(app.url).get('/online.png').set('Referer', '');
    expectRefusal(res);
    expect(app.counts).toEqual([]);
  });

  test('Sec-Fetch-Dest: document is refused even with a Referer, and not counted', async () => {
    const app = await startRecorded();
    const res = await request(app.url).get('/online.png').set('Referer', `${app.url}/`).set('Sec-Fetch-Dest', 'document');
    expectRefusal(res);
    expect(res.text).toContain('<img');
    expect(app.counts).toEqual([]);
    expect(app.connects).toEqual([]);
  });

  test.each(['iframe', 'empty', 'script'])('Sec-Fetch-Dest: %s with a Referer is refused', async (dest) => {
    const app = await startRecorded();
    const res = await request(app.url).get('/online.png').set('Referer', `${app.url}/`).set('Sec-Fetch-Dest', dest);
    expectRefusal(res);
    expect(app.counts).toEqual([]);
  });

  test('Sec-Fetch-Dest: image with a Referer streams and is counted', async () => {
    const app = await startRecorded();
    const viewer = await Viewer.open(app.url, { headers: { Referer: `${app.url}/`, 'Sec-Fetch-Dest': 'image' } });
    expect(viewer.status).toBe(200);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
    expect(app.counter.count).toBe(1);
    expect(app.connects).toEqual([1]);
  });

  test('a Referer from any site streams when no allow-list is set', async () => {
    const app = await startRecorded();
    const viewer = await Viewer.open(app.url, { headers: { Referer: 'https://someone-else.example/blog/post' } });
    expect(viewer.status).toBe(200);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
  });
});

describe('allowDirect: true', () => {
  test('a request with no Referer streams and is counted', async () => {
    const app = await startRecorded({ allowDirect: true });
    const viewer = await Viewer.open(app.url, { headers: {} });
    expect(viewer.status).toBe(200);
    expect(viewer.headers['content-type']).toMatch(/^multipart\/x-mixed-replace/);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
    expect(app.counter.count).toBe(1);
    expect(app.counts).toEqual([1]);
  });

  test('a browser tab opening the image directly (Sec-Fetch-Dest: document, no Referer) streams', async () => {
    const app = await startRecorded({ allowDirect: true });
    const viewer = await Viewer.open(app.url, { headers: { 'Sec-Fetch-Dest': 'document' } });
    expect(viewer.status).toBe(200);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
    expect(app.counter.count).toBe(1);
  });
});

describe("allowedOrigins: ['http://allowed.example']", () => {
  const options: Options = { allowedOrigins: ['http://allowed.example'] };

  test('a Referer from that origin streams and is counted', async () => {
    const app = await startRecorded(options);
    const viewer = await Viewer.open(app.url, { headers: { Referer: 'http://allowed.example/some/page?q=1' } });
    expect(viewer.status).toBe(200);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
    expect(app.counter.count).toBe(1);
  });

  test.each([
    ['another origin', 'http://other.example/'],
    ['the same host on another scheme', 'https://allowed.example/'],
    ['the same host on another port', 'http://allowed.example:8080/'],
    ['a host that only starts with the allowed one', 'http://allowed.example.evil.test/'],
    ['the allowed origin inside the path', 'http://evil.test/http://allowed.example'],
    ['the counter\u2019s own page', 'SELF'],
  ])('a Referer from %s gets 403 and is not counted', async (_what, referer) => {
    const app = await startRecorded(options);
    const res = await request(app.url)
      .get('/online.png')
      .set('Referer', referer === 'SELF' ? `${app.url}/` : referer);
    expectRefusal(res);
    expect(app.counts).toEqual([]);
    expect(app.connects).toEqual([]);
  });

  test.each([
    ['::::', '::::'],
    ['a relative path', '/just/a/path'],
    ['8 KB of junk', Array.from({ length: 8192 }, (_, i) => '!#$%&*+-.0123456789:;<=>?@[]^_`{|}~'[(i * 7) % 35]).join('')],
    ['a URL with an invalid port', 'http://allowed.example:99999/'],
  ])('a malformed Referer (%s) gets 403, not a 5xx, and is not counted', async (_what, referer) => {
    const app = await startRecorded(options);
    const res = await request(app.url).get('/online.png').set('Referer', referer);
    expectRefusal(res);
    expect(app.counts).toEqual([]);
    expect(app.connects).toEqual([]);
    // The server is still fine afterwards.
    expect((await request(app.url).get('/online.json')).text).toBe('{"count":0}');
  });

  test('with no Referer the request is refused as usual', async () => {
    const app = await startRecorded(options);
    const res = await request(app.url).get('/online.png');
    expectRefusal(res);
    expect(app.counts).toEqual([]);
  });
});

test('a mix of refused requests next to one accepted viewer never moves the count off 1', async () => {
  const app = await startRecorded({ allowedOrigins: ['http://allowed.example'] });
  const viewer = await Viewer.open(app.url, { headers: { Referer: 'http://allowed.example/' } });
  await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
  const refused = await Promise.all([
    request(app.url).get('/online.png'),
    request(app.url).get('/online.png').set('Referer', 'http://other.example/'),
    request(app.url).get('/online.png').set('Referer', '::::'),
    request(app.url).get('/online.png').set('Referer', 'http://allowed.example/').set('Sec-Fetch-Dest', 'document'),
  ]);
  expect(refused.map((res) => res.status)).toEqual([403, 403, 403, 403]);
  expect(app.counts).toEqual([1]);
  expect(app.connects).toEqual([1]);
  expect(app.counter.count).toBe(1);
});
