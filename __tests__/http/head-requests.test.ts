// HEAD /online.png: the stream's headers without a body, refused like GET without a Referer,
// and never counted.
import request from 'supertest';
import { startCounterApp } from '../helpers/counter-app.js';
import { MockStore } from '../helpers/mock-store.js';
import { Viewer } from '../helpers/viewer.js';

describe('HEAD /online.png', () => {
  test('with a Referer: 200 with the stream headers, no body, and never counted', async () => {
    const store = new MockStore();
    const { url, counter } = await startCounterApp({ store });
    const connects: number[] = [];
    counter.events.on('connect', ({ count }) => connects.push(count));

    const head = await Viewer.open(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toMatch(/^multipart\/x-mixed-replace; boundary=[A-Za-z0-9'()+_,\-./:=?]{24,70}$/);
    expect(head.headers['cache-control']).toBe('no-store, no-cache, must-revalidate, no-transform');
    expect(head.headers.pragma).toBe('no-cache');
    expect(head.headers.expires).toBe('0');
    expect(head.headers['x-accel-buffering']).toBe('no');
    expect(head.headers['x-content-type-options']).toBe('nosniff');
    expect(head.headers['content-length']).toBeUndefined();
    expect(head.headers['content-encoding']).toBeUndefined();
    await head.waitForEnd();
    expect(head.body.length).toBe(0);

    expect(store.viewers).toEqual([]);
    expect(connects).toEqual([]);
    expect(counter.count).toBe(0);
    expect((await request(url).get('/online.json')).text).toBe('{"count":0}');
  });

  test('without a Referer: 403 like GET, and not counted', async () => {
    const store = new MockStore();
    const { url } = await startCounterApp({ store });
    const head = await Viewer.open(url, { method: 'HEAD', headers: {} });
    expect(head.status).toBe(403);
    expect(store.viewers).toEqual([]);
  });
});
