import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import express from 'express';
import { userCounterMiddleware } from '../lib/index.js';
import type { Options } from '../lib/index.js';
import { PalettePngEncoder } from '../lib/frames/png-encoder.js';
import { writeSnapshot } from './heap-snapshot.js';
import { notify, now, serve } from './ipc.js';
import { startProfiling, stopProfiling } from './profiler.js';

/**
 * The server under test, alone in its process so that its CPU and memory are its
 * own: an Express app with the counter mounted as the demo mounts it.
 *
 * Renders are counted by wrapping the PNG encoder that the built-in renderer calls
 * once per frame (`encode`, and `encodeSync` for the start-up frame): the middleware
 * runs unchanged, with its default renderer.
 */

// tsx turns on source-mapped stack traces; a server runs compiled JavaScript without
// them, and an aborted connection builds an Error whose stack would cost a source-map
// lookup here (the profiler still maps positions: the maps stay loaded).
process.setSourceMapsEnabled(false);

let renders = 0;
const encoder = PalettePngEncoder.prototype;
const { encode, encodeSync } = encoder;
encoder.encode = function countedEncode(this: PalettePngEncoder, indices: Uint8Array) {
  renders += 1;
  return encode.call(this, indices);
};
encoder.encodeSync = function countedEncodeSync(this: PalettePngEncoder, indices: Uint8Array) {
  renders += 1;
  return encodeSync.call(this, indices);
};

// Writes to the streams: how many, and bytes, and when the last frame-sized one happened
// (heartbeats are 1 byte), to tell the server's part of a fan-out from the clients'. Counted
// where a socket hands its bytes to the kernel (`_writeGeneric`, Node's own, once per write or
// writev system call): the counter writes a stream's body straight to its socket
// (lib/stream/response-body.ts), past `res.write`.
let writes = 0;
let frameWrites = 0;
let writtenBytes = 0;
let lastFrameWriteAt = 0;
type WriteGeneric = (this: net.Socket, writev: boolean, data: unknown, encoding: unknown, callback: unknown) => unknown;
const socketPrototype = net.Socket.prototype as unknown as { _writeGeneric: WriteGeneric };
const writeGeneric = socketPrototype._writeGeneric;
// Declared once: tsx names every function declared in a function body on each call
// (Object.defineProperty), which showed in the counter's profile at rest.
function sizeOf(chunk: unknown): number {
  return typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).length;
}
socketPrototype._writeGeneric = function countedWrite(this: net.Socket, writev: boolean, data: unknown, encoding: unknown, callback: unknown) {
  const size = writev ? (data as { chunk: unknown }[]).reduce((sum, { chunk }) => sum + sizeOf(chunk), 0) : sizeOf(data);
  writes += 1;
  writtenBytes += size;
  if (size >= 100) {
    frameWrites += 1;
    lastFrameWriteAt = now();
  }
  return writeGeneric.call(this, writev, data, encoding, callback);
};

const backlog = Number(process.env.BENCH_BACKLOG ?? 511);
const app = express();
// The demo's defaults, except the cap on streams per instance (10 000 by default),
// which the parent raises above the largest storm plus the fan-out's joiners.
const maxConnections = process.env.BENCH_MAX_CONNECTIONS ? Number(process.env.BENCH_MAX_CONNECTIONS) : undefined;
// `--counter-options '{"heartbeatMs":0}'` tries other settings without editing code.
const extraOptions = JSON.parse(process.env.BENCH_COUNTER_OPTIONS ?? '{}') as Options;
const router = userCounterMiddleware({ maxConnections, ...extraOptions });
app.use(router);
app.get('/', (req, res) => {
  res.type('html').send(`<img src="/online.png" alt="Users online"> (${req.app.locals.userCount} now)`);
});

let lastChange = { count: 0, at: 0 };
let connects = 0;
let disconnects = 0;
router.counter.events.on('change', ({ count }) => {
  lastChange = { count, at: now() };
});
router.counter.events.on('connect', () => (connects += 1));
router.counter.events.on('disconnect', () => (disconnects += 1));

// Sampled only during a join storm: at rest its 100 wake-ups a second would be most of what an
// idle counter costs, and the floors have none.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });

const server = http.createServer(app);
server.listen({ port: 0, host: '127.0.0.1', backlog }, () => {
  notify('ready', { port: (server.address() as AddressInfo).port, pid: process.pid });
});

serve({
  usage(message) {
    if (message.gc) (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    const result = {
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      external: memory.external,
      arrayBuffers: memory.arrayBuffers,
      renders,
      writes,
      frameWrites,
      writtenBytes,
      lastFrameWriteAt,
      count: router.counter.count,
      lastChange,
      connects,
      disconnects,
      loopDelayMaxMs: loopDelay.max / 1e6,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    };
    if (message.resetLoopDelay) {
      loopDelay.reset();
      loopDelay.enable();
    }
    if (message.stopLoopDelay) loopDelay.disable();
    return result;
  },
  heapSnapshot: writeSnapshot,
  async profileStart(message) {
    await startProfiling(Number(message.intervalMicros ?? 500));
    return {};
  },
  async profileStop(message) {
    return { file: await stopProfiling(String(message.dir), String(message.name)) };
  },
});
