import type { AddressInfo } from 'node:net';
import { startCounterApp } from '../helpers/counter-app.js';
import { closeAfterEachTest } from '../helpers/cleanup.js';
import { eventually } from '../helpers/time.js';
import { startNginx } from '../helpers/nginx.js';
import type { Nginx } from '../helpers/nginx.js';
import { decodePng, showsCount } from '../../support/png.js';
import { Viewer } from '../helpers/viewer.js';

// The README's nginx recipe (docs/nginx-location.conf), run in a real nginx in front of the app:
// frames pass one at a time, unbuffered; leaving through nginx leaves the count; with
// `trust proxy`, per-address caps see the viewers' addresses, not nginx's.

let nginx: Nginx | undefined;

// Stopped before the apps behind it (helpers/cleanup.ts).
closeAfterEachTest(async () => {
  await nginx?.stop();
  nginx = undefined;
});

async function behindNginx(options: Parameters<typeof startCounterApp>[0] = {}) {
  const app = await startCounterApp(options, { before: (express) => express.set('trust proxy', 'loopback') });
  nginx = await startNginx((app.server.address() as AddressInfo).port);
  return { app, url: nginx.url };
}

test('through nginx, a viewer sees 1, then 2 when a second joins, then 1 when it leaves, without the stream ending', async () => {
  const { app, url } = await behindNginx();
  const first = await Viewer.open(url, { headers: { Referer: `${url}/` } });
  expect(first.status).toBe(200);
  expect(first.headers['content-type']).toMatch(/^multipart\/x-mixed-replace; boundary=/);
  await first.waitForLastFrame((png) => showsCount(png, 1), 'the frame for 1 through nginx');
  const second = await Viewer.open(url, { headers: { Referer: `${url}/` } });
  await first.waitForLastFrame((png) => showsCount(png, 2), 'the frame for 2 through nginx');
  second.close();
  await first.waitForLastFrame((png) => showsCount(png, 1), 'the frame for 1 again through nginx');
  expect(first.ended).toBe(false);
  for (const frame of first.frames) expect(() => decodePng(frame)).not.toThrow();
  first.close();
  await eventually(() => app.counter.count === 0, 'count 0 after the viewer left through nginx');
});

test('through nginx, keep-alive re-sends arrive as they are sent (nothing is buffered)', async () => {
  const { url } = await behindNginx({ keepAliveMs: 200, heartbeatMs: 0 });
  const viewer = await Viewer.open(url, { headers: { Referer: `${url}/` } });
  await viewer.waitForFrames(1);
  const start = viewer.frames.length;
  await viewer.waitForFrames(start + 3, 5000);
  viewer.close();
});

test('through nginx with trust proxy, maxConnectionsPerIp counts the viewer behind nginx, not nginx', async () => {
  const { app, url } = await behindNginx({ maxConnectionsPerIp: 2 });
  const from = (address: string) => Viewer.open(url, { headers: { Referer: `${url}/`, 'X-Forwarded-For': address } });
  const a = [await from('203.0.113.7'), await from('203.0.113.7')];
  const refused = await from('203.0.113.7');
  expect(refused.status).toBe(429);
  const other = await from('198.51.100.9');
  expect(other.status).toBe(200);
  await eventually(() => app.counter.count === 3, 'count 3');
  for (const viewer of [...a, other]) viewer.close();
});

test('through nginx, the JSON count and the shields.io badge reach the app', async () => {
  const { url } = await behindNginx();
  const viewer = await Viewer.open(url, { headers: { Referer: `${url}/` } });
  await viewer.waitForLastFrame((png) => showsCount(png, 1), 'the frame for 1 through nginx');
  const [json, badge] = await Promise.all([fetch(`${url}/online.json`), fetch(`${url}/online.shields.json`)]);
  expect([json.status, badge.status]).toEqual([200, 200]);
  expect(await json.json()).toEqual({ count: 1 });
  expect(await badge.json()).toMatchObject({ schemaVersion: 1, message: '1' });
  viewer.close();
});
