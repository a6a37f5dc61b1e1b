import type { ServerResponse } from 'node:http';
import net from 'node:net';
import { PNG } from 'pngjs';
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually, sleep } from '../helpers/time.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { RawConnection, imageRequest } from '../helpers/raw-connection.js';

/**
 * 1000 viewers that never read, with frames of ~100 KB that change several times a second:
 * their sockets fill, and from then on each costs the server about one frame queued
 * (latest frame wins), however many frames are broadcast. With a short `stallTimeoutMs`
 * they are reaped.
 */

const VIEWERS = 1000;
const REAPED_VIEWERS = 200;
const SIDE = 160;

/** A PNG of noise (it does not compress): ~100 KB, different for each seed. */
function noisePng(seed: number): Buffer {
  const png = new PNG({ width: SIDE, height: SIDE });
  let state = seed + 1;
  for (let i = 0; i < png.data.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    png.data[i] = state >>> 24;
  }
  return PNG.sync.write(png, { deflateLevel: 0, filterType: 0 });
}

const variants = Array.from({ length: 8 }, (_, seed) => noisePng(seed));
const FRAME_BYTES = variants[0].length;

const stalled: RawConnection[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const connection of stalled.splice(0)) connection.destroy();
  for (const socket of sockets.splice(0)) socket.destroy();
});

/** An app whose stream responses are kept, to read what each has queued. */
async function startApp(stallTimeoutMs: number): Promise<CounterApp & { responses: Set<ServerResponse> }> {
  const responses = new Set<ServerResponse>();
  const app = await startCounterApp(
    { render: (count) => variants[count % variants.length], stallTimeoutMs, maxConnectionsPerIp: 10_000 },
    {
      before: (express) =>
        express.use((req, res, next) => {
          if (req.path === '/online.png') {
            responses.add(res);
            res.on('close', () => responses.delete(res));
          }
          next();
        }),
    },
  );
  return Object.assign(app, { responses });
}

/** Open `n` streams that never read a byte (paused before the first byte arrives). */
async function openNonReaders(url: string, n: number): Promise<void> {
  for (let batch = 0; batch < n; batch += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, n - batch) }, async () => {
        const connection = await RawConnection.connect(url);
        connection.pause();
        connection.write(imageRequest(url));
        stalled.push(connection);
      }),
    );
  }
}

/** A viewer that reads everything and only counts the parts it has seen begin. */
function countingReader(url: string): { parts: () => number } {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ host: hostname, port: Number(port) });
  sockets.push(socket);
  socket.on('error', () => undefined);
  socket.write(imageRequest(url));
  let parts = 0;
  let tail = '';
  socket.on('data', (chunk: Buffer) => {
    const text = tail + chunk.toString('latin1');
    parts += text.split('Content-Type: image/png').length - 1;
    tail = text.slice(-30);
  });
  return { parts: () => parts };
}

/** Make the count change over and over: a viewer joins and leaves, until stopped. */
function startChurner(url: string): { stop: () => Promise<void>; changes: () => number } {
  let running = true;
  let changes = 0;
  const loop = (async () => {
    while (running) {
      const connection = await RawConnection.send(url, imageRequest(url));
      await connection.waitForHead();
      // Each count holds long enough to be broadcast (a change is shown once it has held).
      await sleep(250);
      connection.destroy();
      await sleep(250);
      changes += 2;
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
    changes: () => changes,
  };
}

function queued(responses: Set<ServerResponse>): { total: number; largest: number } {
  let total = 0;
  let largest = 0;
  for (const res of responses) {
    total += res.writableLength;
    largest = Math.max(largest, res.writableLength);
  }
  return { total, largest };
}

test(`${VIEWERS} viewers that never read cost about one ~100 KB frame each, not more as frames keep coming`, async () => {
  const app = await startApp(120_000);
  const reader = countingReader(app.url);
  await openNonReaders(app.url, VIEWERS);
  await eventually(() => app.counter.count === VIEWERS + 1, `count ${VIEWERS + 1}`, 20_000);

  const churner = startChurner(app.url);
  try {
    // Wait until every non-reader's socket is full (something waits in its response), then
    // measure; then let at least 20 more frames be broadcast, and measure again.
    const blocked = (): number => [...app.responses].filter((res) => res.writableLength > 0).length;
    await eventually(() => blocked() >= VIEWERS, `all ${VIEWERS} non-readers blocked`, 120_000);
    // Two more broadcasts, so that what is queued is measured while frames keep coming.
    const framesBlocked = reader.parts();
    await eventually(() => reader.parts() >= framesBlocked + 2, 'two more frames broadcast', 30_000);
    const framesA = reader.parts();
    const queuedA = queued(app.responses);
    const memoryA = process.memoryUsage();
    await eventually(() => reader.parts() >= framesA + 20, '20 more frames broadcast', 60_000);
    const framesB = reader.parts();
    const queuedB = queued(app.responses);
    const memoryB = process.memoryUsage();

    const broadcasts = framesB - framesA;
    process.stdout.write(
      `slow readers: frame ${FRAME_BYTES} B; ${broadcasts} frames between measures; queued ${(queuedA.total / 1e6).toFixed(1)} MB -> ` +
        `${(queuedB.total / 1e6).toFixed(1)} MB (largest ${queuedB.largest} B); arrayBuffers ${(memoryA.arrayBuffers / 1e6).toFixed(1)} -> ` +
        `${(memoryB.arrayBuffers / 1e6).toFixed(1)} MB; heap ${(memoryA.heapUsed / 1e6).toFixed(1)} -> ${(memoryB.heapUsed / 1e6).toFixed(1)} MB\n`,
    );
    // Frames really kept coming to those who read.
    expect(broadcasts).toBeGreaterThanOrEqual(20);
    // No viewer queues more than about one frame (plus the part headers and chunk framing).
    expect(queuedB.largest).toBeLessThan(2 * FRAME_BYTES);
    expect(queuedB.total).toBeLessThan(VIEWERS * 2 * FRAME_BYTES);
    // And the total does not grow with the frames broadcast: a queue per viewer would add
    // `broadcasts` frames each (hundreds of MB here).
    expect(queuedB.total - queuedA.total).toBeLessThan(10 * FRAME_BYTES);
    expect(memoryB.arrayBuffers - memoryA.arrayBuffers).toBeLessThan(64 * 1024 * 1024);
    expect(app.counter.count).toBeGreaterThanOrEqual(VIEWERS + 1);
  } finally {
    await churner.stop();
  }
}, 300_000);

test('with a short stallTimeoutMs, viewers that never read are reaped and the count returns to the readers alone', async () => {
  const app = await startApp(1500);
  const reader = countingReader(app.url);
  // Fewer than above: how long their sockets take to fill depends on the kernel's buffers and
  // the machine's speed, never on the counter; the limits below are generous for that.
  await openNonReaders(app.url, REAPED_VIEWERS);
  await eventually(() => app.counter.count === REAPED_VIEWERS + 1, `count ${REAPED_VIEWERS + 1}`, 30_000);
  const churner = startChurner(app.url);
  try {
    // Frames keep coming, so every non-reader's socket fills and then stalls.
    await eventually(() => app.counter.count <= 2, 'the non-readers reaped', 180_000);
  } finally {
    await churner.stop();
  }
  await eventually(() => app.counter.count === 1, 'only the reading viewer left', 30_000);
  expect(reader.parts()).toBeGreaterThan(10);
  // The server really closed them (a paused socket notices only once it reads again).
  for (const connection of stalled) connection.resume();
  await eventually(() => stalled.every((connection) => connection.closed), 'every non-reader closed', 30_000);
}, 300_000);
