// Where the counter answers and what it lets through: the path option, a mount prefix, query
// strings, every other path and method falling through to the app's next route, and a stream
// letting go of Express's routing chain.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { Express, Request } from 'express';
import request from 'supertest';
import { userCounterMiddleware } from '../../lib/index.js';
import type { UserCounterRouter } from '../../lib/index.js';
import { closeAfterEachTest } from '../helpers/cleanup.js';
import { quietLogger, startCounterApp } from '../helpers/counter-app.js';
import { MockStore } from '../helpers/mock-store.js';
import { eventually } from '../helpers/time.js';
import { Viewer } from '../helpers/viewer.js';
import { showsCount } from '../../support/png.js';

/** A catch-all after the counter: proves a request fell through to `next()`. */
function fallThroughHandler(app: Express): void {
  app.use((req, res) => {
    res.status(200).type('text/plain').send(`fell through: ${req.method} ${req.originalUrl}`);
  });
}

describe('the path option', () => {
  test("path '/counter/live.png' moves the stream there and the JSON to /counter/live.json", async () => {
    const { url, counter } = await startCounterApp({ path: '/counter/live.png' }, { after: fallThroughHandler });
    const viewer = await Viewer.open(url, { path: '/counter/live.png' });
    expect(viewer.status).toBe(200);
    expect(viewer.headers['content-type']).toMatch(/^multipart\/x-mixed-replace; boundary=/);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1 at /counter/live.png');
    expect(counter.count).toBe(1);

    const json = await request(url).get('/counter/live.json');
    expect(json.text).toBe('{"count":1}');

    // The default paths are now ordinary requests.
    const oldJson = await request(url).get('/online.json');
    expect(oldJson.text).toBe('fell through: GET /online.json');
    const oldStream = await request(url).get('/online.png').set('Referer', `${url}/`);
    expect(oldStream.text).toBe('fell through: GET /online.png');
    expect(counter.count).toBe(1);
  });

  test("path '/users' (no .png) streams at /users and answers JSON at /users.json", async () => {
    const { url, counter } = await startCounterApp({ path: '/users' });
    const json = await request(url).get('/users.json');
    expect(json.status).toBe(200);
    expect(json.text).toBe('{"count":0}');

    const viewer = await Viewer.open(url, { path: '/users' });
    expect(viewer.status).toBe(200);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1 at /users');
    expect(counter.count).toBe(1);
    expect((await request(url).get('/users.json')).text).toBe('{"count":1}');
  });
});

describe('mounting under a prefix', () => {
  async function startPrefixed(): Promise<{ url: string; router: UserCounterRouter }> {
    const app = express();
    const router = userCounterMiddleware({ logger: quietLogger() });
    app.use('/stats', router);
    fallThroughHandler(app);
    const server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    closeAfterEachTest(async () => {
      await router.counter.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }, 'servers');
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, router };
  }

  test("app.use('/stats', middleware) serves the stream at /stats/online.png and the JSON at /stats/online.json", async () => {
    const { url, router } = await startPrefixed();
    const viewer = await Viewer.open(url, { path: '/stats/online.png' });
    expect(viewer.status).toBe(200);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1 at /stats/online.png');
    expect(router.counter.count).toBe(1);
    expect((await request(url).get('/stats/online.json')).text).toBe('{"count":1}');
  });

  test('under a prefix, the unprefixed paths fall through', async () => {
    const { url, router } = await startPrefixed();
    const res = await request(url).get('/online.png').set('Referer', `${url}/`);
    expect(res.text).toBe('fell through: GET /online.png');
    expect((await request(url).get('/online.json')).text).toBe('fell through: GET /online.json');
    expect(router.counter.count).toBe(0);
  });
});

describe('fall-through', () => {
  test.each(['/', '/other', '/online.pngx', '/online.png/extra', '/online.jsonx', '/online.json/extra', '/stats/online.png'])(
    'GET %s reaches the route after the middleware',
    async (path) => {
      const store = new MockStore();
      const { url } = await startCounterApp({ store }, { after: fallThroughHandler });
      const res = await request(url).get(path).set('Referer', `${url}/`);
      expect(res.status).toBe(200);
      expect(res.text).toBe(`fell through: GET ${path}`);
      expect(store.viewers).toEqual([]);
    },
  );

  test.each(['POST', 'PUT', 'DELETE', 'PATCH'])(
    '%s /online.png and /online.json reach a catch-all after the middleware, never a 5xx, and are not counted',
    async (method) => {
      const store = new MockStore();
      const { url } = await startCounterApp({ store }, { after: fallThroughHandler });
      for (const path of ['/online.png', '/online.json']) {
        const res = await request(url)[method.toLowerCase() as 'post' | 'put' | 'delete' | 'patch'](path)
          .set('Referer', `${url}/`)
          .send('x=1');
        expect(res.status).toBe(200);
        expect(res.text).toBe(`fell through: ${method} ${path}`);
      }
      expect(store.viewers).toEqual([]);
      expect(store.count()).toBe(0);
    },
  );

  test('without a route after the middleware, another method gets Express\u2019s own 404, not a 5xx', async () => {
    const { url } = await startCounterApp();
    const res = await request(url).post('/online.png').set('Referer', `${url}/`);
    expect(res.status).toBe(404);
  });
});

test('a query string on the stream path still streams and counts', async () => {
  const { url, counter } = await startCounterApp();
  const viewer = await Viewer.open(url, { path: '/online.png?x=1&cache=bust' });
  expect(viewer.status).toBe(200);
  expect(viewer.headers['content-type']).toMatch(/^multipart\/x-mixed-replace/);
  await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
  expect(counter.count).toBe(1);
  expect((await request(url).get('/online.json?y=2')).text).toBe('{"count":1}');
});

test("a stream lets go of Express's routing chain (req.next), and keeps what the app put on the request", async () => {
  let seen: { req: Request; res: express.Response } | undefined;
  const closedWith: unknown[] = [];
  const counterApp = await startCounterApp(
    {},
    {
      before: (app) =>
        app.use((req, res, next) => {
          res.locals.requestId = 'r-1';
          res.on('close', () => closedWith.push(res.locals.requestId));
          seen = { req, res };
          next();
        }),
    },
  );
  const viewer = await Viewer.open(counterApp.url, { headers: { Referer: `${counterApp.url}/page` } });
  await eventually(() => viewer.frames.length > 0, 'the first frame');
  const { req, res } = seen!;
  // Without this, the routers' pending `next` closures would live as long as the stream.
  expect(req.next).toBeUndefined();
  expect(res.locals.requestId).toBe('r-1');
  expect(res.headersSent).toBe(true);
  expect(String(res.getHeader('content-type'))).toMatch(/^multipart\/x-mixed-replace; boundary=/);
  viewer.close();
  await eventually(() => closedWith.length > 0, "the app's close listener");
  expect(closedWith).toEqual(['r-1']);
});
