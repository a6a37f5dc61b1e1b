import { spawn } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { PNG } from 'pngjs';
import { MemoryCountStore } from '../../lib/index.js';
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually, sleep } from '../helpers/time.js';
import { RawConnection, imageRequest } from '../helpers/raw-connection.js';
import { Viewer } from '../helpers/viewer.js';
import { decodePng, expectedEndedFrame, samePixels } from '../../support/png.js';

function closeDelimiterOf(viewer: Viewer | RawConnection): string {
  const contentType = viewer instanceof Viewer ? viewer.headers['content-type'] : viewer.head?.headers['content-type'];
  const boundary = /boundary=(\S+)/.exec(String(contentType))?.[1];
  expect(boundary).toBeDefined();
  return `\r\n--${boundary}--\r\n`;
}

/** A PNG of random pixels: it does not compress, so a few fill a socket's buffers. */
function noisePng(side: number, seed: number): Buffer {
  const png = new PNG({ width: side, height: side });
  let state = seed;
  for (let i = 0; i < png.data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    png.data[i] = state >>> 24;
  }
  return PNG.sync.write(png, { deflateLevel: 0, filterType: 0 });
}

describe('maxStreamMs', () => {
  test('a stream ends by itself after maxStreamMs with the close-delimiter, its last part the ended frame of its count, and leaves the count', async () => {
    const { url, counter } = await startCounterApp({ maxStreamMs: 500 });
    const opened = Date.now();
    const viewer = await Viewer.open(url);
    await viewer.waitForFrames(1);
    expect(counter.count).toBe(1);

    await viewer.waitForEnd(5000);
    const lasted = Date.now() - opened;
    expect(lasted).toBeGreaterThanOrEqual(450);
    // Ends by itself: well before the limit below, whatever the machine's load.
    expect(lasted).toBeLessThan(10_000);

    expect(viewer.body.toString('latin1').endsWith(closeDelimiterOf(viewer))).toBe(true);
    // The part that ends the stream is whole (heartbeat bytes sent ahead were completed) and dimmed.
    const last = viewer.lastFrame!;
    expect(decodePng(last).width).toBe(200);
    expect(samePixels(last, expectedEndedFrame(1))).toBe(true);
    await eventually(() => counter.count === 0, 'count 0 after the stream ended');
  });

  test('each stream has its own clock: one opened later ends later', async () => {
    // Far apart (1.5 s), so that a busy machine's pauses do not blur which ends first.
    const { url, counter } = await startCounterApp({ maxStreamMs: 2000 });
    const early = await Viewer.open(url);
    const earlyOpened = Date.now();
    await sleep(1500);
    const late = await Viewer.open(url);
    const lateOpened = Date.now();
    await early.waitForEnd(10_000);
    const earlyLasted = Date.now() - earlyOpened;
    expect(late.ended).toBe(false);
    await eventually(() => counter.count === 1, 'the late stream still counted');
    await late.waitForEnd(10_000);
    expect(earlyLasted).toBeGreaterThanOrEqual(1950);
    expect(Date.now() - lateOpened).toBeGreaterThanOrEqual(1950);
    await eventually(() => counter.count === 0, 'count 0');
  });
});

describe('close()', () => {
  test('every open stream (HTTP/1.1 and HTTP/1.0) receives the close-delimiter after a complete PNG, the store holds 0, and server.close() completes promptly', async () => {
    const store = new MemoryCountStore();
    const app = await startCounterApp({ store });
    const changes: number[] = [];
    app.counter.events.on('change', ({ count }) => changes.push(count));
    const streams = await Promise.all([1, 2, 3].map(() => Viewer.open(app.url)));
    const http10 = await RawConnection.send(app.url, imageRequest(app.url, { version: 'HTTP/1.0' }));
    await eventually(() => app.counter.count === 4, 'count 4');
    for (const viewer of streams) await viewer.waitForFrames(1);
    await http10.waitForParts(1);

    await app.counter.close();

    for (const viewer of streams) {
      await viewer.waitForEnd(3000);
      expect(viewer.body.toString('latin1').endsWith(closeDelimiterOf(viewer))).toBe(true);
      expect(decodePng(viewer.lastFrame!).height).toBe(30);
    }
    await http10.waitForClose(3000);
    expect(http10.body.toString('latin1').endsWith(closeDelimiterOf(http10))).toBe(true);
    expect(decodePng(http10.parts[http10.parts.length - 1]).width).toBe(200);

    expect(store.count()).toBe(0);
    expect(store.count('')).toBe(0);
    expect(app.counter.count).toBe(0);
    expect(changes[changes.length - 1]).toBe(0);

    // After close: the count is still readable, new streams are refused and not counted.
    const json = await fetch(`${app.url}/online.json`);
    expect(await json.json()).toEqual({ count: 0 });
    const late = await RawConnection.send(app.url, imageRequest(app.url));
    const head = await late.waitForHead();
    expect(head.status).toBe(503);
    expect(head.headers['retry-after']).toMatch(/^\d+$/);
    expect(app.counter.count).toBe(0);
    late.destroy();

    const started = Date.now();
    await new Promise<void>((resolve, reject) => app.server.close((error) => (error ? reject(error) : resolve())));
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('close() cuts off a viewer that does not take the close-delimiter, and still resolves', async () => {
    const frames = [noisePng(500, 1), noisePng(500, 2)];
    const responses: ServerResponse[] = [];
    const app = await startCounterApp(
      { render: (count) => frames[count % 2] },
      { before: (express) => express.use((_req, res, next) => (responses.push(res), next())) },
    );
    const stuck = await RawConnection.send(app.url, imageRequest(app.url));
    stuck.pause();
    await eventually(() => app.counter.count === 1, 'the stuck viewer counted');
    const stuckResponse = responses[0];
    const reader = await Viewer.open(app.url);
    await reader.waitForFrames(1, 10_000);
    // Frames of ~1 MB until the paused socket's buffers are full, however large the kernel's are.
    for (let i = 0; i < 100 && stuckResponse.writableLength === 0; i++) {
      // Each change held until the reading viewer has seen its frame (a change is broadcast once it holds).
      const extra = await Viewer.open(app.url);
      await reader.waitForLastFrame((png) => png.equals(frames[3 % 2]), 'the frame for 3', 10_000);
      extra.close();
      await reader.waitForLastFrame((png) => png.equals(frames[2 % 2]), 'the frame for 2', 10_000);
    }
    expect(stuckResponse.writableLength).toBeGreaterThan(0);
    // Node emits 'finish' on a destroyed response too: only one before the destroy is a delivery.
    let delivered = false;
    stuckResponse.on('finish', () => (delivered = !stuckResponse.destroyed));

    const started = Date.now();
    await app.counter.close();
    expect(Date.now() - started).toBeLessThan(8000);
    expect(app.counter.count).toBe(0);
    // Cut off: destroyed with its last bytes (the close-delimiter among them) never taken.
    expect(stuckResponse.destroyed).toBe(true);
    expect(delivered).toBe(false);
    // The viewer that reads got the close-delimiter.
    await reader.waitForEnd();
    expect(reader.body.toString('latin1').endsWith(closeDelimiterOf(reader))).toBe(true);
  }, 30_000);

  // The CountStore contract lets several counters share one store: the last to close closes it.
  test('closing one of two counters sharing a MemoryCountStore retracts only its own viewers', async () => {
    const store = new MemoryCountStore();
    const a = await startCounterApp({ store });
    const b = await startCounterApp({ store });
    await Viewer.open(a.url);
    await Viewer.open(a.url);
    const stays = await Viewer.open(b.url);
    await eventually(() => store.count() === 3, 'count 3 over both counters');
    await a.counter.close();
    expect(store.count()).toBe(1);
    expect(b.counter.count).toBe(1);
    await stays.waitForFrames(1);
  });

  test('a process that closes its counter and its server exits on its own: no timer, socket or listener keeps it alive', async () => {
    const fixture = path.join(__dirname, '..', 'fixtures', 'hostile-close-exit.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      cwd: path.join(__dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exitCode = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 20_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    const events = Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { event: string; at: number } & Record<string, unknown>)
        .map((entry) => [entry.event, entry]),
    );
    expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect(events.streaming.count).toBe(5);
    expect(events['counter-closed']).toMatchObject({ count: 0, storeTotal: 0, storeRoom: 0 });
    const closed = events['server-closed'] as unknown as {
      at: number;
      viewers: { kind: string; status: number; chunked: boolean; endsWithCloseDelimiter: boolean; lastPartIsPng: boolean }[];
      resources: string[];
      logged: string[];
    };
    expect(closed.viewers).toHaveLength(5);
    for (const viewer of closed.viewers) {
      expect(viewer).toMatchObject({ status: 200, endsWithCloseDelimiter: true, lastPartIsPng: true });
      // HTTP/1.0 has no chunked encoding: the stream is the raw multipart body.
      expect(viewer.chunked).toBe(viewer.kind !== 'http/1.0');
    }
    expect(closed.resources).not.toContain('Timeout');
    expect(closed.logged).toEqual([]);
    // Exits as soon as the server has closed: no timer left to run out first.
    expect(events.exit.at - closed.at).toBeLessThan(1000);
  }, 30_000);
});
