import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import express from 'express';
import { writeSnapshot } from './heap-snapshot.js';
import { notify, serve } from './ipc.js';
import { startProfiling, stopProfiling } from './profiler.js';

/**
 * The floor: the least a server can do for a viewer of a live image. A bare
 * `node:http` server that answers GET /online.png with the stream's headers and one
 * shared multipart PNG frame (followed by the next part's delimiter, so that the
 * frame is complete and shown), then holds the connection. No counting, no
 * rendering, no timers: what is left is the cost of the connections themselves.
 */

// tsx turns on source-mapped stack traces; a server runs compiled JavaScript without
// them, and an aborted connection builds an Error whose stack would cost a source-map
// lookup here (the profiler still maps positions: the maps stay loaded).
process.setSourceMapsEnabled(false);

const backlog = Number(process.env.BENCH_BACKLOG ?? 511);
const boundary = randomBytes(16).toString('hex');
const headers = {
  'Content-Type': `multipart/x-mixed-replace; boundary=${boundary}`,
  'Cache-Control': 'no-store, no-cache, must-revalidate, no-transform',
  Pragma: 'no-cache',
  Expires: '0',
  'X-Accel-Buffering': 'no',
  'X-Content-Type-Options': 'nosniff',
};
let shared = Buffer.alloc(0);
/** The frame again and the next part's headers: what a keep-alive re-sends, as one chunk of the chunked coding. */
let again = Buffer.alloc(0);
let againChunk = Buffer.alloc(0);
/** Each open stream's socket, and whether its response is chunked (HTTP/1.1). */
const sockets = new Map<NonNullable<http.ServerResponse['socket']>, boolean>();
let writes = 0;

const floor = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  if (req.method !== 'GET' || req.url !== '/online.png') {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, headers);
  res.write(shared);
  const socket = res.socket!;
  sockets.set(socket, (res as { chunkedEncoding?: boolean }).chunkedEncoding === true);
  res.once('close', () => sockets.delete(socket));
};

/**
 * On request (`keepAlives`), the floor re-sends its frame `perSecond` times a second, to its
 * connections in turn, spread over ticks of 100 ms, straight to the socket: the least that
 * keeping streams alive with that many writes costs at rest, to set the counter's quiet CPU against.
 */
let keepAliveTimer: NodeJS.Timeout | undefined;
function keepAlives(perSecond: number): void {
  clearInterval(keepAliveTimer);
  if (perSecond <= 0) return;
  const tickMs = 100;
  let carry = 0;
  let cursor = sockets.entries();
  keepAliveTimer = setInterval(() => {
    carry += (perSecond * tickMs) / 1000;
    for (; carry >= 1; carry -= 1) {
      let next = cursor.next();
      if (next.done) next = (cursor = sockets.entries()).next();
      // No stream open: nothing owed.
      if (next.done) return void (carry = 0);
      const [socket, chunked] = next.value;
      socket.write(chunked ? againChunk : again);
      writes += 1;
    }
  }, tickMs);
}

// The Express floor (BENCH_FLOOR_EXPRESS=1): the same, as the one middleware of an Express
// app, which is what any Express app pays per request before the counter does anything.
let server: http.Server;
if (process.env.BENCH_FLOOR_EXPRESS) {
  const app = express();
  app.use(floor);
  server = http.createServer(app);
} else {
  server = http.createServer(floor);
}

server.listen({ port: 0, host: '127.0.0.1', backlog }, () => {
  notify('ready', { port: (server.address() as AddressInfo).port, pid: process.pid });
});

serve({
  /** The PNG every viewer is sent from now on. */
  frame(message) {
    const png = Buffer.from(message.png as Uint8Array);
    const partHeaders = 'Content-Type: image/png\r\n\r\n';
    shared = Buffer.concat([
      Buffer.from(`--${boundary}\r\n${partHeaders}`, 'latin1'),
      png,
      Buffer.from(`\r\n--${boundary}\r\n${partHeaders}`, 'latin1'),
    ]);
    again = shared.subarray(Buffer.byteLength(`--${boundary}\r\n${partHeaders}`));
    againChunk = Buffer.concat([Buffer.from(`${again.length.toString(16)}\r\n`, 'latin1'), again, Buffer.from('\r\n', 'latin1')]);
    return { bytes: shared.length };
  },
  keepAlives(message) {
    keepAlives(Number(message.perSecond));
    return {};
  },
  heapSnapshot: writeSnapshot,
  // Its join storm is profiled with the counter's (`--profile`), so that their areas compare.
  async profileStart(message) {
    await startProfiling(Number(message.intervalMicros ?? 500));
    return {};
  },
  async profileStop(message) {
    return { file: await stopProfiling(String(message.dir), String(message.name)) };
  },
  usage(message) {
    if (message.gc) (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    return { rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external, arrayBuffers: memory.arrayBuffers, count: sockets.size, writes };
  },
});
