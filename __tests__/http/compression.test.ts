import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import compression from 'compression';
import type { Express } from 'express';
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { Viewer } from '../helpers/viewer.js';
import { GECKO_USER_AGENT, PAGE_VIEW_PATH } from '../helpers/user-agents.js';
import { decodePng, showsCount } from '../../support/png.js';
import type { Options } from '../../lib/index.js';

/** `compression({ threshold: 0 })` mounted before the counter: it would compress every byte it may. */
function withCompression(options: Options = {}): Promise<CounterApp> {
  return startCounterApp(options, { before: (app: Express) => app.use(compression({ threshold: 0 })) });
}

async function openGzipViewer(url: string, headers: Record<string, string> = {}, path?: string): Promise<Viewer> {
  return Viewer.open(url, { path, extra: { 'Accept-Encoding': 'gzip', ...headers } });
}

function get(url: string, headers: Record<string, string>): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

test('with compression() first, the stream is sent uncompressed and every part decodes as a PNG', async () => {
  const { url } = await withCompression();
  const viewer = await openGzipViewer(url);
  expect(viewer.status).toBe(200);
  expect(viewer.headers['content-encoding']).toBeUndefined();
  expect(viewer.headers['content-length']).toBeUndefined();
  expect(viewer.headers['content-type']).toMatch(/^multipart\/x-mixed-replace; boundary=/);
  expect(viewer.headers['cache-control']).toMatch(/\bno-transform\b/);
  await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
  // The raw bytes start with the first delimiter: nothing gzip-framed.
  expect(viewer.body.subarray(0, 2).toString('latin1')).toBe('--');
  for (const frame of viewer.frames) {
    const image = decodePng(frame);
    expect([image.width, image.height]).toEqual([200, 30]);
  }
});

test('with compression() first, a second viewer joining makes the first see 2 at once, while its stream stays open', async () => {
  const { url } = await withCompression();
  const first = await openGzipViewer(url);
  await first.waitForLastFrame((png) => showsCount(png, 1), 'the first viewer to see 1');
  const framesBefore = first.frames.length;

  const second = await openGzipViewer(url);
  // While the stream is open: compression must not hold the frame back until the end.
  await first.waitForLastFrame((png) => showsCount(png, 2), 'the first viewer to see 2', 5000);
  expect(first.ended).toBe(false);
  expect(first.frames.length).toBeGreaterThan(framesBefore);
  await second.waitForLastFrame((png) => showsCount(png, 2), 'the second viewer to see 2');

  // And back to 1 when the second leaves.
  second.close();
  await first.waitForLastFrame((png) => showsCount(png, 1), 'the first viewer to see 1 again', 5000);
  expect(first.ended).toBe(false);
  for (const frame of first.frames) expect(() => decodePng(frame)).not.toThrow();
});

test('with compression() first, keep-alive re-sends arrive as whole frames while nothing changes', async () => {
  const { url } = await withCompression({ keepAliveMs: 400, heartbeatMs: 0 });
  const viewer = await openGzipViewer(url);
  await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
  const framesAtStart = viewer.frames.length;
  await viewer.waitForFrames(framesAtStart + 2, 5000);
  expect(viewer.ended).toBe(false);
  for (const frame of viewer.frames.slice(framesAtStart)) expect(showsCount(frame, 1)).toBe(true);
});

test('with compression() first, heartbeat bytes arrive one at a time and are the next PNG\u2019s own first bytes', async () => {
  const { url } = await withCompression({ keepAliveMs: 0, heartbeatMs: 100 });
  // Heartbeat bytes go to Firefox only (lib/stream/stream-framing.ts).
  const viewer = await openGzipViewer(url, { 'User-Agent': GECKO_USER_AGENT }, PAGE_VIEW_PATH);
  await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
  const frames = viewer.frames.length;
  const boundary = /boundary=(.+)$/.exec(String(viewer.headers['content-type']))![1];
  const advance = Buffer.from(`\r\n--${boundary}\r\nContent-Type: image/png\r\n\r\n`, 'latin1');
  await eventually(() => {
    const body = viewer.body;
    const at = body.lastIndexOf(advance);
    return at >= 0 && body.length - (at + advance.length) >= 3;
  }, 'three heartbeat bytes after the advance headers', 5000);
  const body = viewer.body;
  const ahead = body.subarray(body.lastIndexOf(advance) + advance.length);
  expect(viewer.frames.length).toBe(frames);
  // Fewer than a whole PNG header: the bytes came one tick at a time, not buffered into a block.
  expect(ahead.length).toBeLessThan(33);
  expect(ahead.equals(viewer.lastFrame!.subarray(0, ahead.length))).toBe(true);
  expect(ahead.subarray(0, 3).toString('latin1')).toBe('\x89PN');
});

test('with compression() first, /online.json is gzip-compressed and still parses as {"count":N}', async () => {
  const { url } = await withCompression();
  const viewer = await openGzipViewer(url);
  await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
  const { headers, body } = await get(`${url}/online.json`, { 'Accept-Encoding': 'gzip' });
  // Proves compression() really is active in these tests: it compresses what it may.
  expect(headers['content-encoding']).toBe('gzip');
  expect(headers['cache-control']).toMatch(/\bno-store\b/);
  expect(JSON.parse(gunzipSync(body).toString('utf8'))).toEqual({ count: 1 });
});
