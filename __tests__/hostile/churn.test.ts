import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { sleep } from '../helpers/time.js';

/**
 * Connect/abort churn against a server in its own process (so its heap can be measured
 * after a full GC): every departed viewer must leave nothing behind — no count, no socket,
 * no timer, no listener or closure (those would show as heap growth: each holds a
 * response, a socket and a writer).
 *
 * How many: the issue asks for 100 000 cycles. On the shared 2-core test machine the rate
 * went from about 4 000 cycles/s (100 000 in 25 s) when little else ran down to 500-1 000/s
 * while other suites and a browser ran (100 000 would take 100-200 s; the kernel's
 * connect/close work dominates). So the test runs cycles for TIME_BUDGET_MS, as many as
 * fit up to 100 000 and never fewer than MIN_CYCLES, and prints how many it ran.
 * HOSTILE_CHURN_CYCLES forces an exact number (for example 100000 on a loaded machine).
 */
const FORCED = process.env.HOSTILE_CHURN_CYCLES === undefined ? undefined : Number(process.env.HOSTILE_CHURN_CYCLES);
const MAX_CYCLES = FORCED ?? 100_000;
const MIN_CYCLES = FORCED ?? 20_000;
const TIME_BUDGET_MS = FORCED === undefined ? 45_000 : Infinity;
const CONCURRENCY = 200;
const WARM_UP = 3_000;
/** Heap the server may keep after the churn beyond its warmed-up baseline. */
const HEAP_SLACK = 5 * 1024 * 1024;

interface Measured {
  type: 'measured';
  heapUsed: number;
  count: number;
  connections: number;
  resources: string[];
  logged: string[];
}

let child: ChildProcess;
let url: string;

beforeAll(async () => {
  child = fork(path.join(__dirname, '..', 'fixtures', 'hostile-churn-server.ts'), [], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    cwd: path.join(__dirname, '..', '..'),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { type: string; url: string }) => resolve(message.url));
    child.once('exit', (code) => reject(new Error(`the churn server exited early (${code})`)));
  });
}, 30_000);

afterAll(async () => {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send({ type: 'close' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
});

function measure(): Promise<Measured> {
  return new Promise((resolve) => {
    const onMessage = (message: Measured): void => {
      if (message.type !== 'measured') return;
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.send({ type: 'measure' });
  });
}

/** How a cycle's viewer goes away. */
const enum Departure {
  /** Connected, never asked for anything. */
  ConnectOnly,
  /** Sent the request and closed at once, before any response byte. */
  AbortEarly,
  /** Sent the request and reset the connection at once. */
  ResetEarly,
  /** Sent half of the request's headers, then closed. */
  HalfHeaders,
  /** Closed right after the first frame arrived (the next part's headers seen). */
  AfterFirstFrame,
  /** Reset right after the first frame. */
  ResetAfterFirstFrame,
}
const DEPARTURES = 6;

interface Tally {
  cycles: number;
  /** Cycles started, by departure. */
  started: number[];
  framesSeen: number;
  stuck: number;
}

function cycle(port: number, request: Buffer, departure: Departure, tally: Tally): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    // A cycle that waits for a frame that never comes is a failure, not a hang.
    const guard = setTimeout(() => {
      tally.stuck += 1;
      socket.destroy();
    }, 15_000);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(guard);
      tally.cycles += 1;
      resolve();
    });
    socket.once('connect', () => {
      switch (departure) {
        case Departure.ConnectOnly:
          socket.destroy();
          break;
        case Departure.AbortEarly:
          socket.write(request);
          socket.destroy();
          break;
        case Departure.ResetEarly:
          socket.write(request);
          socket.resetAndDestroy();
          break;
        case Departure.HalfHeaders:
          socket.write(request.subarray(0, request.length >> 1));
          socket.destroy();
          break;
        default: {
          socket.write(request);
          let seen = '';
          socket.on('data', (chunk: Buffer) => {
            seen += chunk.toString('latin1');
            // The first part's headers, its PNG, then the second part's headers sent in advance.
            if (seen.split('Content-Type: image/png').length < 3) return;
            tally.framesSeen += 1;
            if (departure === Departure.AfterFirstFrame) socket.destroy();
            else socket.resetAndDestroy();
          });
        }
      }
    });
  });
}

/** Run cycles `CONCURRENCY` at a time: `min` of them at least, then more until `max` or the time budget. */
async function churn(min: number, max: number, budgetMs: number): Promise<Tally> {
  const { port, host } = new URL(url);
  const request = Buffer.from(`GET /online.png HTTP/1.1\r\nHost: ${host}\r\nReferer: ${url}/\r\nSec-Fetch-Dest: image\r\n\r\n`, 'latin1');
  const tally: Tally = { cycles: 0, started: new Array<number>(DEPARTURES).fill(0), framesSeen: 0, stuck: 0 };
  const deadline = Date.now() + budgetMs;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < max && (next < min || Date.now() < deadline)) {
      const departure = (next++ % DEPARTURES) as Departure;
      tally.started[departure] += 1;
      await cycle(Number(port), request, departure, tally);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return tally;
}

async function settledMeasure(baseline?: Measured): Promise<Measured> {
  // The server notices the last closes a moment after the clients, and lets go of what the last
  // ones held (an immediate, a pending close) a moment after that: a leak stays past the deadline.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const measured = await measure();
    const settled = measured.count === 0 && measured.connections === 0 && (!baseline || measured.resources.length <= baseline.resources.length);
    if (settled || Date.now() > deadline) return measured;
    await sleep(100);
  }
}

test('after 20 000 to 100 000 connect/abort cycles the count is 0, no connection or timer remains, and the heap is back near its start', async () => {
  const warmUp = await churn(WARM_UP, WARM_UP, Infinity);
  expect(warmUp.stuck).toBe(0);
  const before = await settledMeasure();
  expect(before.count).toBe(0);

  const started = Date.now();
  const tally = await churn(MIN_CYCLES, MAX_CYCLES, TIME_BUDGET_MS);
  const seconds = (Date.now() - started) / 1000;
  const after = await settledMeasure(before);

  expect(tally.cycles).toBeGreaterThanOrEqual(MIN_CYCLES);
  expect(tally.cycles).toBe(tally.started.reduce((sum, n) => sum + n, 0));
  expect(tally.stuck).toBe(0);
  // Every viewer that waited for its first frame got it: those cycles really streamed.
  expect(tally.framesSeen).toBe(tally.started[Departure.AfterFirstFrame] + tally.started[Departure.ResetAfterFirstFrame]);
  expect(after.count).toBe(0);
  expect(after.connections).toBe(0);
  // Nothing new keeps the server's loop alive: no timer (the shared tick stops with the last stream), no socket.
  const kinds = (list: string[], kind: string): number => list.filter((entry) => entry === kind).length;
  expect(kinds(after.resources, 'Timeout')).toBe(0);
  expect(kinds(after.resources, 'TCPSocketWrap')).toBe(0);
  expect(after.resources.length).toBeLessThanOrEqual(before.resources.length);
  // A viewer left behind holds a response, a socket and a writer: thousands would show here.
  expect(after.heapUsed - before.heapUsed).toBeLessThan(HEAP_SLACK);
  expect(after.logged).toEqual([]);
  process.stdout.write(
    `churn: ${tally.cycles} cycles in ${seconds.toFixed(1)} s (${Math.round(tally.cycles / seconds)}/s); ` +
      `server heap after GC ${(before.heapUsed / 1e6).toFixed(1)} MB -> ${(after.heapUsed / 1e6).toFixed(1)} MB\n`,
  );
}, 180_000);
