import request from 'supertest';
import type { Request } from 'express';
import { counterMetrics } from '../../demo/metrics.js';
import { startDemo } from '../helpers/browser.js';
import type { DemoServer } from '../helpers/browser.js';
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import { showsCount } from '../../support/png.js';
import { Viewer } from '../helpers/viewer.js';

// The demo's /metrics: counter.stats() in Prometheus text format through prom-client.

let demo: DemoServer | undefined;
afterAll(() => demo?.stop());

/** The samples of a Prometheus text exposition, by metric name (no labels here). */
function samples(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [name, value] = line.split(' ');
    values.set(name, Number(value));
  }
  return values;
}

async function scrape(url: string): Promise<Map<string, number>> {
  const response = await request(url).get('/metrics');
  expect(response.status).toBe(200);
  expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return samples(response.text);
}

test('gauges and counters read stats() at each scrape and agree with it', async () => {
  const app = await startCounterApp({ room: (req: Request) => req.query.page as string | undefined, keepAliveMs: 0, heartbeatMs: 0 });
  app.app.get('/metrics-kept', counterMetrics(app.counter).handler);

  const before = samples((await request(app.url).get('/metrics-kept')).text);
  expect(before.get('user_counter_connections')).toBe(0);
  expect(before.get('user_counter_frames_sent_total')).toBe(0);

  const viewers: Viewer[] = [];
  for (const page of ['a', 'a', 'b']) viewers.push(await Viewer.open(app.url, { path: `/online.png?page=${page}` }));
  await viewers[0].waitForLastFrame((png) => showsCount(png, 2), 'room a to show 2');
  await eventually(() => app.counter.stats().framesSent >= 4, 'the frames to go out');

  const after = samples((await request(app.url).get('/metrics-kept')).text);
  const stats = app.counter.stats();
  expect(after.get('user_counter_count')).toBe(3);
  expect(after.get('user_counter_connections')).toBe(3);
  expect(after.get('user_counter_viewers')).toBe(3);
  expect(after.get('user_counter_rooms')).toBe(2);
  expect(after.get('user_counter_frames_sent_total')).toBe(stats.framesSent);
  expect(after.get('user_counter_bytes_sent_total')).toBe(stats.bytesSent);
  expect(after.get('user_counter_renders_total')).toBe(stats.renders);
  expect(after.get('user_counter_frames_dropped_total')).toBe(0);
  expect(after.get('user_counter_frame_bytes')).toBe(stats.frameBytes);
  expect(after.get('user_counter_frame_bytes')).toBeGreaterThan(0);
  expect(after.get('user_counter_store_reachable')).toBe(1);

  for (const viewer of viewers) viewer.close();
  await eventually(() => app.counter.stats().connections === 0, 'every stream closed');
  const end = samples((await request(app.url).get('/metrics-kept')).text);
  expect(end.get('user_counter_connections')).toBe(0);
  // Counters never go down.
  expect(end.get('user_counter_frames_sent_total')).toBe(app.counter.stats().framesSent);
  expect(end.get('user_counter_frames_sent_total')!).toBeGreaterThanOrEqual(after.get('user_counter_frames_sent_total')!);
});

test('npm run demo serves /metrics for its counter', async () => {
  demo = await startDemo();
  const viewer = await Viewer.open(demo.url);
  await viewer.waitForLastFrame((png) => showsCount(png, 1), 'the demo image to show 1');
  const values = await scrape(demo.url);
  expect(values.get('user_counter_connections')).toBe(1);
  expect(values.get('user_counter_count')).toBe(1);
  expect(values.get('user_counter_frames_sent_total')!).toBeGreaterThanOrEqual(1);
  expect(values.get('user_counter_static_images_total')).toBe(0);
  const still = await request(demo.url).get('/online.png?static=1');
  expect(still.headers['content-type']).toBe('image/png');
  expect((await scrape(demo.url)).get('user_counter_static_images_total')).toBe(1);
}, 60_000);
