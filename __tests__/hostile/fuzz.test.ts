import type { Socket } from 'node:net';
import express from 'express';
import { userCounterMiddleware } from '../../lib/index.js';
import type { UserCounterRouter } from '../../lib/index.js';
import { quietLogger, startCounterApp } from '../helpers/counter-app.js';
import { eventually, sleep } from '../helpers/time.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { ESCAPE_PAYLOADS, fuzzCases, responseHeads } from '../helpers/fuzz-requests.js';
import type { FuzzCase } from '../helpers/fuzz-requests.js';
import { RawConnection, imageRequest } from '../helpers/raw-connection.js';
import { parseHead } from '../helpers/response-wire.js';
import { Viewer } from '../helpers/viewer.js';
import { showsCount } from '../../support/png.js';

/**
 * Bad input over raw sockets: thousands of malformed and odd requests from a seeded
 * generator. Whatever arrives, the server never answers with a 5xx (a 503 only from a
 * configured cap, with Retry-After), never crashes, never keeps a count for a request that
 * is gone, and never writes request data to its logs unescaped. A stream with requests
 * behind it (also ones Node answers itself: `Expect`, no `Host`) is closed by the server, and
 * static images of room names never seen cost no render of their own.
 */

const SEED = 0x5eed_2026;
const CASES = 3000;
const CONCURRENCY = 50;
/** A connection with nothing new for this long is done (the server answered, or never will). */
const IDLE_MS = 150;
/** How long a connection that has received nothing is given before it is closed. */
const NO_ANSWER_MS = 1000;
const STRICT_ORIGIN = 'http://example.com';

const extraRouters: UserCounterRouter[] = [];

afterEach(async () => {
  await Promise.all(extraRouters.splice(0).map((router) => router.counter.close()));
});

async function runCase(url: string, fuzzCase: FuzzCase): Promise<RawConnection> {
  const connection = await RawConnection.connect(url);
  for (const [i, chunk] of fuzzCase.chunks.entries()) {
    if (i > 0) await sleep(5);
    connection.write(chunk);
  }
  if (fuzzCase.close === 'now') {
    connection.destroy();
    return connection;
  }
  if (fuzzCase.close === 'fin') connection.end();
  const sent = Date.now();
  // A stream with requests behind it must be closed by the server, whatever Node does with them.
  const mustClose = () => fuzzCase.behindStream === true && connection.head?.status === 200 && /multipart/.test(connection.head.headers['content-type'] ?? '');
  // Done when the server closes, or when it has answered and then gone quiet; a request
  // that gets no answer at all (cut, CONNECT) is given a second.
  await eventually(
    () =>
      connection.closed ||
      (!mustClose() &&
        ((connection.received > 0 && Date.now() - connection.lastDataAt > IDLE_MS) || Date.now() - sent > (connection.received > 0 ? 3000 : NO_ANSWER_MS))),
    mustClose() ? `the server to close a stream with requests behind it (${fuzzCase.label})` : 'the connection to close or go quiet',
    10_000,
  );
  connection.destroy();
  return connection;
}

/** An app with three counters: the default one (tight per-address cap), a strict one (allow-list, global cap) and one behind a trusted proxy. */
async function startFuzzApp(): Promise<CounterApp & { strict: UserCounterRouter; proxied: UserCounterRouter; logLines: () => string[]; sockets: Set<Socket> }> {
  const mainLogger = quietLogger();
  const strictLogger = quietLogger();
  const strict = userCounterMiddleware({ path: '/strict/online.png', allowedOrigins: [STRICT_ORIGIN], maxConnections: 5, logger: strictLogger });
  extraRouters.push(strict);
  // Behind a trusted proxy (a sub-app of its own): X-Forwarded-For is the viewer's address.
  const proxied = userCounterMiddleware({ path: '/proxied/online.png', maxConnectionsPerIp: 3, logger: quietLogger() });
  extraRouters.push(proxied);
  const proxiedApp = express().set('trust proxy', true).use(proxied);
  const app = await startCounterApp(
    { maxConnectionsPerIp: 8, logger: mainLogger, room: (req) => (typeof req.query.page === 'string' ? req.query.page : undefined) },
    { after: (main) => main.use(strict).use(proxiedApp) },
  );
  // `Expect: 100-continue` goes to this listener instead of `request`, as in an app that has one.
  app.server.on('checkContinue', (req, res) => {
    res.writeContinue();
    app.app(req, res);
  });
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const logLines = (): string[] =>
    [mainLogger, strictLogger].flatMap((logger) => [...logger.warn.mock.calls, ...logger.error.mock.calls].map((call) => String(call[0])));
  return Object.assign(app, { strict, proxied, logLines, sockets });
}

test(`${CASES} malformed and odd requests over raw sockets: never a 5xx (503 only from a cap), no crash, count 0 after, logs escaped`, async () => {
  const consoleLines: string[] = [];
  const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
    jest.spyOn(console, level).mockImplementation((...args: unknown[]) => void consoleLines.push(args.map(String).join(' '))),
  );
  try {
    const app = await startFuzzApp();
    const next = fuzzCases(app.url, SEED, STRICT_ORIGIN);
    const cases = Array.from({ length: CASES }, next);
    const histogram = new Map<number, number>();
    const problems: string[] = [];
    let streamsSeen = 0;
    let http10Streams = 0;
    let freshStaticImages = 0;

    let index = 0;
    const worker = async (): Promise<void> => {
      while (index < cases.length) {
        const fuzzCase = cases[index++];
        const connection = await runCase(app.url, fuzzCase);
        for (const { status, headers } of responseHeads(connection.data)) {
          histogram.set(status, (histogram.get(status) ?? 0) + 1);
          const capped = status === 503 && /^retry-after: \d+\r$/im.test(headers) && /^content-type: text\/plain/im.test(headers);
          if (status >= 500 && !capped) problems.push(`${status} for ${fuzzCase.label}`);
        }
        const head = parseHead(connection.data);
        if (fuzzCase.freshStaticRoom && head?.status === 200 && head.headers['content-type'] === 'image/png') freshStaticImages += 1;
        if (head?.status === 200 && /multipart\/x-mixed-replace/.test(head.headers['content-type'] ?? '')) {
          streamsSeen += 1;
          if (fuzzCase.version === 'HTTP/1.0') {
            // HTTP/1.0 has no chunked encoding: the body is the multipart stream itself.
            http10Streams += 1;
            if (head.headers['transfer-encoding'] !== undefined) problems.push(`Transfer-Encoding on HTTP/1.0: ${fuzzCase.label}`);
            const boundary = /boundary=(\S+)/.exec(head.headers['content-type']!)![1];
            const delimiter = `--${boundary}\r\n`;
            const start = connection.data.toString('latin1', head.bodyOffset, head.bodyOffset + delimiter.length);
            if (!delimiter.startsWith(start)) {
              problems.push(`HTTP/1.0 body does not start with the delimiter: ${fuzzCase.label}`);
            }
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    // However the timing went, end with the per-address cap reached by requests that carry
    // escape sequences in X-Forwarded-For (the one place a warning is about a request).
    cases.push(
      ...Array.from({ length: 10 }, (_, i) => ({
        label: `cap burst ${i}`,
        chunks: [Buffer.from(imageRequest(app.url, { extra: [['X-Forwarded-For', `203.0.113.${i}${ESCAPE_PAYLOADS[i % ESCAPE_PAYLOADS.length].replace(/\x1b|\x07/g, '')}`]] }), 'latin1')],
        close: 'idle' as const,
      })),
    );
    await Promise.all(Array.from({ length: 10 }, worker));
    const summary = [...histogram.entries()].sort(([a], [b]) => a - b).map(([status, n]) => `${status}: ${n}`).join(', ');
    const { renders } = app.counter.stats();
    process.stdout.write(`fuzz: ${cases.length} cases; responses ${summary}; ${streamsSeen} streams (${http10Streams} HTTP/1.0); ${freshStaticImages} static images of new rooms, ${renders} renders\n`);

    expect(problems).toEqual([]);
    // The generator reached every kind of answer, including streams and the caps.
    for (const status of [200, 400, 403, 404, 429, 431]) expect(histogram.get(status) ?? 0).toBeGreaterThan(0);
    expect(streamsSeen).toBeGreaterThan(50);
    expect(http10Streams).toBeGreaterThan(5);
    // A room name never seen costs no render: renders follow the pixel ratios and counts (at
    // most 9 streams here, so counts 0 to 9, live and ended, at 3 ratios), not the names.
    expect(freshStaticImages).toBeGreaterThan(100);
    expect(renders).toBeLessThanOrEqual(60);

    // Nothing left behind once every socket has gone.
    await eventually(() => app.sockets.size === 0, 'every fuzz connection closed on the server', 10_000);
    expect(app.counter.count).toBe(0);
    expect(app.strict.counter.count).toBe(0);
    expect(app.proxied.counter.count).toBe(0);

    // Still serving: a normal viewer streams and is counted.
    const viewer = await Viewer.open(app.url);
    expect(viewer.status).toBe(200);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1 after the fuzz');
    expect(await (await fetch(`${app.url}/online.json`)).json()).toEqual({ count: 1, total: 1, room: '' });

    // Logs: written (the proxy warning fired), and no control character from a request in any line.
    const lines = [...app.logLines(), ...consoleLines];
    expect(app.logLines().length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).not.toMatch(/[\x00-\x1f\x7f\x9b]/);
      expect(line).not.toContain('Injected');
      expect(line).not.toContain('\\x1b[2J');
    }
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}, 120_000);
