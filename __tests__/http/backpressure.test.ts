// Backpressure: a viewer that reads slowly or not at all costs about one frame (the latest
// wins), a stalled one is destroyed after stallTimeoutMs, a slow one that keeps reading is not.
import { createHash, randomFillSync } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Response } from 'express';
import { PNG } from 'pngjs';
import { closeAfterEachTest } from '../helpers/cleanup.js';
import { startCounterApp } from '../helpers/counter-app.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { RawConnection, imageRequest } from '../helpers/raw-connection.js';
import { eventually, sleep } from '../helpers/time.js';
import { decodePng } from '../../support/png.js';

const timers: NodeJS.Timeout[] = [];
closeAfterEachTest(() => {
  for (const timer of timers.splice(0)) clearInterval(timer);
});

const SIDE = 600;
/** One incompressible 600×600 RGBA PNG per count (about 1.4 MB), made once, so socket buffers fill at once. */
const noiseFrames = new Map<number, Buffer>();
const countOfFrame = new Map<string, number>();

function noiseFrame(count: number): Buffer {
  let png = noiseFrames.get(count);
  if (!png) {
    const image = new PNG({ width: SIDE, height: SIDE });
    randomFillSync(image.data);
    // No filter search and no compression: fast to make, and as large as the pixels.
    png = PNG.sync.write(image, { deflateLevel: 0, filterType: 0 });
    noiseFrames.set(count, png);
    countOfFrame.set(digest(png), count);
  }
  return png;
}

function digest(png: Buffer): string {
  return createHash('sha1').update(png).digest('hex');
}

/** Which count a received frame is the noise frame of (undefined: not one of ours, or damaged). */
function countShown(png: Buffer): number | undefined {
  return countOfFrame.get(digest(png));
}

/** An app whose frames are large noise PNGs; every stream request's server-side response and socket are kept. */
async function startNoiseApp(options: { keepAliveMs?: number; heartbeatMs?: number; stallTimeoutMs?: number }) {
  const streams = new Map<string, { res: Response; socket: Socket }>();
  const started: CounterApp = await startCounterApp(
    { render: noiseFrame, ...options },
    {
      before: (app) =>
        app.use((req, res, next) => {
          const id = req.headers['x-viewer-id'];
          if (typeof id === 'string') streams.set(id, { res, socket: req.socket });
          next();
        }),
    },
  );
  return { ...started, streams };
}

/** A stream request the server side of which is kept as `id` (startNoiseApp). */
function open(url: string, id: string): Promise<RawConnection> {
  return RawConnection.open(url, { extra: [['X-Viewer-Id', id]] });
}

beforeAll(() => {
  // Made ahead, so that rendering does not stall the server in the middle of a test.
  for (let count = 0; count <= 24; count++) noiseFrame(count);
});

test('a paused viewer costs about one frame while 20 frames are broadcast, then gets the newest frame and few others', async () => {
  const started = await startNoiseApp({ keepAliveMs: 0, heartbeatMs: 0 });
  const reference = await open(started.url, 'reference');
  await reference.waitForHead();
  await reference.waitForParts(1, 10_000);

  const paused = await open(started.url, 'paused');
  await paused.waitForHead();
  paused.pause();
  await eventually(() => started.counter.count === 2, 'count 2');
  const server = started.streams.get('paused')!;

  let maxWaiting = 0;
  const sampler = setInterval(() => (maxWaiting = Math.max(maxWaiting, server.res.writableLength)), 5);
  timers.push(sampler);

  // Each new viewer (itself never reading) raises the count: a new frame for everyone.
  const broadcastsBefore = reference.parts.length;
  const lastCount = 22;
  for (let count = 3; count <= lastCount; count++) {
    const extra = await open(started.url, `extra-${count}`);
    await extra.waitForHead();
    extra.pause();
    await eventually(
      () => reference.lastPart !== undefined && countShown(reference.lastPart) === count,
      `the reference viewer shows ${count}`,
      10_000,
    );
    maxWaiting = Math.max(maxWaiting, server.res.writableLength);
  }
  clearInterval(sampler);
  const broadcasts = reference.parts.length - broadcastsBefore;
  expect(broadcasts).toBeGreaterThanOrEqual(lastCount - 2);

  // Latest frame wins: about one frame waits in the response, never a queue of them
  // (a queue would hold about 20 frames here).
  const frameBytes = noiseFrame(lastCount).length;
  expect(maxWaiting).toBeGreaterThan(0);
  expect(maxWaiting).toBeLessThan(2 * frameBytes);
  expect(server.res.destroyed).toBe(false);

  paused.resume();
  await eventually(
    () => paused.lastPart !== undefined && countShown(paused.lastPart) === lastCount,
    `the resumed viewer shows the newest frame (${lastCount})`,
    15_000,
  );
  await sleep(300);
  const shown = paused.parts.map(countShown);
  // Every part is a whole frame of ours, and none is older than one before it.
  expect(shown.every((count) => count !== undefined)).toBe(true);
  for (let i = 1; i < shown.length; i++) expect(shown[i]!).toBeGreaterThanOrEqual(shown[i - 1]!);
  expect(shown.at(-1)).toBe(lastCount);
  // Only what the socket buffers held while paused, plus the newest: far fewer than were broadcast.
  expect(paused.parts.length).toBeLessThanOrEqual(broadcasts / 2);
  expect(decodePng(paused.lastPart!).width).toBe(SIDE);
});

/** Send the stream request on a socket that is paused first, so it never reads a byte. */
async function openStalled(url: string, id: string): Promise<RawConnection> {
  const client = await RawConnection.connect(url);
  client.pause();
  client.write(imageRequest(url, { extra: [['X-Viewer-Id', id]] }));
  return client;
}

/** Read about `bytesPer50Ms` every 50 ms, never stopping: a viewer on a slow line. */
function readSlowly(client: RawConnection, bytesPer50Ms: number): void {
  let budget = 0;
  client.socket.on('data', (chunk: Buffer) => {
    budget -= chunk.length;
    if (budget <= 0) client.pause();
  });
  timers.push(
    setInterval(() => {
      budget = bytesPer50Ms;
      client.resume();
    }, 50),
  );
}

test('a viewer that never reads is destroyed after stallTimeoutMs: count back to 0 and the server socket closed', async () => {
  // Frames keep coming (keep-alive), so data waits for the viewer once the kernel's buffers are full.
  const started = await startNoiseApp({ stallTimeoutMs: 300, keepAliveMs: 250 });
  await openStalled(started.url, 'stalled');
  await eventually(() => started.counter.count === 1, 'the stalled viewer counted');
  const server = started.streams.get('stalled')!;
  const disconnects: number[] = [];
  started.counter.events.on('disconnect', ({ count }) => disconnects.push(count));

  await eventually(() => started.counter.count === 0, 'the stalled viewer reaped (count 0)', 5000);
  await eventually(() => server.socket.destroyed && server.res.closed, 'the server side of the stalled stream closed', 2000);
  expect(disconnects).toEqual([0]);
  expect((await fetch(`${started.url}/online.json`).then((r) => r.json())) as unknown).toEqual({ count: 0 });
});

test('a slow viewer that keeps reading outlives stallTimeoutMs three times over, while a stalled one beside it is reaped', async () => {
  const started = await startNoiseApp({ stallTimeoutMs: 2000, keepAliveMs: 250, heartbeatMs: 0 });
  const slow = await open(started.url, 'slow');
  await slow.waitForHead();
  // About 1.3 MB/s (a frame a second): far slower than the 5+ MB/s of keep-alives offered.
  readSlowly(slow, 64 * 1024);
  await openStalled(started.url, 'stalled');
  await eventually(() => started.counter.count === 2, 'count 2');
  const slowServer = started.streams.get('slow')!;
  const stalledServer = started.streams.get('stalled')!;

  const framesBefore = slow.parts.length;
  let waitingSamples = 0;
  for (let i = 0; i < 60; i++) {
    await sleep(100);
    if (slowServer.res.writableLength > 0) waitingSamples += 1;
    expect(slowServer.socket.destroyed).toBe(false);
  }
  // Data was waiting for the slow viewer most of the time: it was slower than the stream.
  expect(waitingSamples).toBeGreaterThan(30);
  expect(stalledServer.socket.destroyed).toBe(true);
  expect(started.counter.count).toBe(1);
  expect(slow.closed).toBe(false);
  expect(slow.parts.length - framesBefore).toBeGreaterThanOrEqual(2);
  expect(slow.parts.every((png) => countShown(png) !== undefined)).toBe(true);
});

// Bug (lib/stream/multipart-writer.ts, checkStall): progress is seen only when the response's
// writableLength shrinks, and Node shrinks it only when a whole write has gone to the
// kernel. A frame is one write, so a viewer that takes bytes all the time but needs
// longer than stallTimeoutMs for one frame (here 1.4 MB at ~1.3 MB/s, or 9 MB frames at
// 2.6 MB/s with stallTimeoutMs 1500) is destroyed as stalled, against the issue's
// "destroyed after stallTimeoutMs with no bytes accepted".
test.failing('a viewer reading about 1.3 MB/s is not reaped by stallTimeoutMs 300', async () => {
  const started = await startNoiseApp({ stallTimeoutMs: 300, keepAliveMs: 250, heartbeatMs: 0 });
  const slow = await open(started.url, 'slow');
  await slow.waitForHead();
  readSlowly(slow, 64 * 1024);
  await eventually(() => started.counter.count === 1, 'count 1');
  for (let i = 0; i < 30; i++) {
    await sleep(100);
    expect(started.counter.count).toBe(1);
  }
});
