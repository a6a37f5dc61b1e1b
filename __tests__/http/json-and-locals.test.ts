// The count as JSON (GET /online.json, never cached, not itself counted) and as
// req.app.locals.userCount, a live number for the app's own routes.
import type { Request } from 'express';
import request from 'supertest';
import { startCounterApp } from '../helpers/counter-app.js';
import { MockStore } from '../helpers/mock-store.js';
import { eventually } from '../helpers/time.js';
import { Viewer } from '../helpers/viewer.js';
import { showsCount } from '../../support/png.js';

describe('GET /online.json', () => {
  test('answers {"count":N} as JSON with Cache-Control no-store, N the number of open streams', async () => {
    const { url, counter } = await startCounterApp();
    const empty = await request(url).get('/online.json');
    expect(empty.status).toBe(200);
    expect(empty.headers['content-type']).toMatch(/^application\/json/);
    expect(empty.headers['cache-control']).toMatch(/\bno-store\b/);
    expect(empty.text).toBe('{"count":0}');
    // Nothing to revalidate: a count is never cacheable.
    expect(empty.headers.etag).toBeUndefined();

    const first = await Viewer.open(url);
    const second = await Viewer.open(url);
    await second.waitForLastFrame((png) => showsCount(png, 2), 'a frame showing 2');
    const two = await request(url).get('/online.json');
    expect(two.text).toBe('{"count":2}');
    expect(two.headers['cache-control']).toMatch(/\bno-store\b/);

    first.close();
    await eventually(() => first.ended, 'the first viewer to be gone');
    await eventually(() => counter.count === 1, 'the count to drop to 1');
    expect((await request(url).get('/online.json')).text).toBe('{"count":1}');
  });

  test('is answered without a Referer and is not itself counted', async () => {
    const store = new MockStore();
    const { url } = await startCounterApp({ store });
    const res = await request(url).get('/online.json');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ count: 0 });
    expect(store.viewers).toEqual([]);
  });
});

describe('req.app.locals.userCount', () => {
  test('is a number in a route after the middleware before any stream opened, and stays live', async () => {
    let locals: Record<string, unknown> | undefined;
    const { url } = await startCounterApp(
      {},
      {
        after: (app) =>
          app.get('/page', (req: Request, res) => {
            locals = req.app.locals;
            res.json({ type: typeof req.app.locals.userCount, value: req.app.locals.userCount });
          }),
      },
    );
    const before = await request(url).get('/page');
    expect(before.body).toEqual({ type: 'number', value: 0 });

    const viewer = await Viewer.open(url);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
    // The same locals object, read again without a new request: a live value, not a snapshot.
    expect(locals!.userCount).toBe(1);
    expect((await request(url).get('/page')).body).toEqual({ type: 'number', value: 1 });

    viewer.close();
    await eventually(() => locals!.userCount === 0, 'userCount to return to 0');
    expect((await request(url).get('/page')).body).toEqual({ type: 'number', value: 0 });
  });
});
