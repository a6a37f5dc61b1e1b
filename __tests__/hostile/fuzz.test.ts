import type { Socket } from 'node:net';
import express from 'express';
import { userCounterMiddleware } from '../../lib/index.js';
import type { UserCounterRouter } from '../../lib/index.js';
import { closeAllApps, eventually, quietLogger, startCounterApp } from '../helpers/counter-app.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { RawConnection, imageRequest, parseHead, rawRequest } from '../helpers/raw-http.js';
import { Viewer } from '../helpers/viewer.js';
import { decodePng, showsCount } from '../../support/png.js';

/**
 * Bad input over raw sockets: thousands of malformed and odd requests from a seeded
 * generator. Whatever arrives, the server never answers with a 5xx (a 503 only from a
 * configured cap, with Retry-After), never crashes, never keeps a count for a request that
 * is gone, and never writes request data to its logs unescaped.
 */

const SEED = 0x5eed_2026;
const CASES = 3000;
const CONCURRENCY = 50;
/** A connection with nothing new for this long is done (the server answered, or never will). */
const IDLE_MS = 150;
/** How long a connection that has received nothing is given before it is closed. */
const NO_ANSWER_MS = 1000;
const STRICT_ORIGIN = 'http://example.com';

const connections: RawConnection[] = [];
const viewers: Viewer[] = [];
const extraRouters: UserCounterRouter[] = [];

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.destroy();
  for (const viewer of viewers.splice(0)) viewer.close();
  await Promise.all(extraRouters.splice(0).map((router) => router.counter.close()));
  await closeAllApps();
});

/** mulberry32: a small seeded generator, so that a failure can be replayed exactly. */
class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)];
  }
  /** `length` characters from `alphabet`; long texts repeat a random run of 256 (cheap, still arbitrary). */
  text(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-._~'): string {
    let run = '';
    for (let i = 0; i < Math.min(length, 256); i++) run += alphabet[Math.floor(this.next() * alphabet.length)];
    return run.repeat(Math.ceil(length / Math.max(run.length, 1))).slice(0, length);
  }
  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }
}

/** Text that must never reach a log line as it was sent. */
const ESCAPE_PAYLOADS = ['\x1b[31mred\x1b[0m', '%1B%5B31m', 'a\x1b]0;title\x07b', '\xc2\x9b31m', '%0d%0aInjected: 1', '\\x1b[2J'];

interface FuzzCase {
  /** What the generator made, for the failure message. */
  readonly label: string;
  /** Written one after another, with a pause between. */
  readonly chunks: Buffer[];
  /** `idle`: wait until the server closes or goes quiet; `fin`: half-close after writing; `now`: close at once. */
  readonly close: 'idle' | 'fin' | 'now';
  /** The first request's version, when it is a stream request (to check HTTP/1.0 framing). */
  readonly version?: string;
}

function generator(url: string) {
  const random = new Random(SEED);
  const { host } = new URL(url);
  const origin = url;

  const referer = (): string | undefined =>
    random.pick<() => string | undefined>([
      () => `${origin}/`,
      () => `${origin}/`,
      () => `${origin}/`,
      () => `${origin}/`,
      () => `${origin}/page?x=${random.text(8)}`,
      () => `${origin}/page?x=${random.text(8)}`,
      () => `${STRICT_ORIGIN}/`,
      () => `${STRICT_ORIGIN}/${random.text(5)}`,
      () => 'https://evil.test/',
      () => undefined,
      () => '',
      () => ' ',
      () => 'not a url',
      () => '::::',
      () => 'http://[',
      () => 'http://[::1',
      () => 'javascript:alert(1)',
      () => 'data:,x',
      () => '//example.com/',
      () => 'http://example.com/%',
      () => `${origin}/\xff\xfe\x80`,
      () => `${origin}/${random.pick(ESCAPE_PAYLOADS)}`,
      () => `${origin}/${random.text(random.int(1000, 15_000))}`,
      () => `${origin}/${random.text(random.int(16_000, 40_000))}`,
      () => `${origin}/\ttab`,
    ])();

  const secFetch = (): [string, string][] => {
    const headers: [string, string][] = [];
    if (random.chance(0.5)) {
      headers.push(['Sec-Fetch-Dest', random.pick(['image', 'image', 'image', 'image', 'IMAGE', 'document', 'empty', '', 'image, image', 'imag', 'image\t', 'x'.repeat(300), '\xff'])]);
    }
    if (random.chance(0.3)) headers.push(['Sec-Fetch-Mode', random.pick(['no-cors', 'navigate', 'cors', '', 'y'.repeat(50)])]);
    if (random.chance(0.3)) headers.push(['Sec-Fetch-Site', random.pick(['same-origin', 'cross-site', 'none', '???', 'z'.repeat(50)])]);
    if (random.chance(0.1)) headers.push(['Sec-Fetch-User', random.pick(['?1', '?0', 'x'])]);
    return headers;
  };

  const streamTarget = (): string | (() => string) =>
    random.pick<string | (() => string)>([
      '/online.png',
      '/online.png',
      '/online.png',
      '/online.png',
      '/online.png',
      '/online.png',
      '/strict/online.png',
      '/strict/online.png',
      '/proxied/online.png',
      '/proxied/online.png',
      '/online.png?',
      () => `/online.png?x=${random.text(10)}`,
      () => `/online.png?${random.text(random.int(100, 9000))}`,
      '/online.png?%zz',
      '/online.png#fragment',
      '/online%2Epng',
      '/%6Fnline.png',
      '/ONLINE.PNG',
      '//online.png',
      '/online.png/',
      '/./online.png',
      '/a/../online.png',
      '/online.png;jsessionid=1',
      '/online.png%00',
      () => `/online.png/${random.pick(ESCAPE_PAYLOADS)}`,
      `http://${host}/online.png`,
      'online.png',
    ]);

  const otherTarget = (): string | (() => string) =>
    random.pick<string | (() => string)>([
      '/online.json',
      '/strict/online.json',
      '/online.json?callback=x',
      '/',
      '*',
      '/%',
      '/%E0%A4%A',
      '/%1B%5B31m',
      () => `/${random.text(random.int(1000, 8000))}`,
      () => `/${random.text(random.int(16_000, 20_000))}`,
      () => `/${'%2F'.repeat(random.int(10, 2000))}`,
      '/favicon.ico',
      () => `/online.json${random.pick(ESCAPE_PAYLOADS)}`,
    ]);

  const oddHeaders = (): [string, string][] => {
    const headers: [string, string][] = [];
    const maybe = (p: number, name: string, values: (string | (() => string))[]): void => {
      if (!random.chance(p)) return;
      const value = random.pick(values);
      headers.push([name, typeof value === 'function' ? value() : value]);
    };
    maybe(0.15, 'Range', ['bytes=0-10', 'bytes=-5', 'bytes=abc', () => `bytes=${Array.from({ length: 200 }, (_, i) => `${i}-${i}`).join(',')}`]);
    maybe(0.15, 'If-None-Match', ['*', '"abc"', 'W/"x"', () => random.text(100), '""']);
    maybe(0.1, 'If-Modified-Since', ['Thu, 01 Jan 1970 00:00:00 GMT', 'garbage', '']);
    maybe(0.1, 'Accept-Encoding', ['gzip', 'br, gzip;q=0', 'identity;q=0', '*;q=0']);
    maybe(0.15, 'Connection', ['close', 'keep-alive', 'Upgrade', 'garbage']);
    maybe(0.05, 'Upgrade', ['websocket', 'h2c', 'garbage']);
    maybe(0.05, 'Expect', ['100-continue', 'foo']);
    maybe(0.2, 'X-Forwarded-For', [
      '203.0.113.9', '203.0.113.9, 10.0.0.1', 'garbage', '', () => `203.0.113.1${random.pick(ESCAPE_PAYLOADS)}`, '::1', () => random.text(500),
      // With a port, as some platforms send it; IPv6 in brackets, in many /64s of one /48.
      () => `203.0.113.9:${random.int(1, 65535)}`, () => `[2001:db8:1:${random.int(0, 0xffff).toString(16)}::1]:${random.int(1, 65535)}`,
      () => `2001:db8:1:${random.int(0, 0xffff).toString(16)}::${random.int(1, 9)}`, '203.0.113.9:', ':443', '[::1]', '[garbage]:80', '1.2.3.4:5:6',
    ]);
    maybe(0.1, 'Content-Length', ['0', '5', '-1', 'abc', '99999999999999999999', '1e3']);
    maybe(0.03, 'Transfer-Encoding', ['chunked', 'gzip, chunked', 'identity', 'garbage']);
    maybe(0.05, 'Cookie', [() => random.text(random.int(10, 4000))]);
    maybe(0.05, 'Accept', ['image/avif,image/webp,*/*', '', () => random.text(200)]);
    if (random.chance(0.02)) for (let i = 0; i < random.int(50, 300); i++) headers.push([`X-H${i}`, random.text(5)]);
    return headers;
  };

  const request = (): { text: string; version: string; stream: boolean } => {
    const stream = random.chance(0.55);
    const method = stream
      ? random.pick(['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'HEAD', 'get', 'POST'])
      : random.pick(['GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND', 'MKCOL', 'SEARCH', 'get', 'Get', 'FOO', 'G3T', '']);
    const chosen = stream ? streamTarget() : otherTarget();
    const target = typeof chosen === 'function' ? chosen() : chosen;
    const version = random.chance(0.9)
      ? random.pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'])
      : random.pick(['HTTP/2.0', 'HTTP/1.2', 'http/1.1', 'HTTP/9.9', 'HTTP/0.9', 'HTTP/1.1 x']);
    const headers: [string, string][] = [];
    if (version !== 'HTTP/1.0' || random.chance(0.5)) {
      headers.push(['Host', random.chance(0.95) ? host : random.pick(['', 'evil.test', `${host}, ${host}`, random.text(300)])]);
    }
    const ref = referer();
    if (ref !== undefined) headers.push([random.chance(0.9) ? 'Referer' : 'referer', ref]);
    headers.push(...secFetch(), ...oddHeaders());
    // Shuffle a little: header order must not matter.
    if (random.chance(0.3)) headers.reverse();
    const body = random.chance(0.05) ? random.text(random.int(0, 50)) : '';
    return { text: rawRequest(method, target, headers, { version, body }), version, stream: stream && method === 'GET' };
  };

  return (): FuzzCase => {
    const kind = random.pick(['request', 'request', 'request', 'request', 'pipelined', 'flood', 'cut', 'garbage', 'split', 'abort']);
    switch (kind) {
      case 'flood': {
        // A stream, then requests pipelined behind it in several writes: each would wait for ever.
        const behind = Array.from({ length: random.int(1, 40) }, () => request().text);
        const chunks = [Buffer.from(imageRequest(url), 'latin1')];
        for (let at = 0; at < behind.length; at += 10) chunks.push(Buffer.from(behind.slice(at, at + 10).join(''), 'latin1'));
        return { label: `flood of ${behind.length} behind a stream`, chunks, close: 'idle' };
      }
      case 'pipelined': {
        const parts = Array.from({ length: random.int(2, 3) }, request);
        return { label: `pipelined ${JSON.stringify(parts.map((p) => p.text.slice(0, 60)))}`, chunks: [Buffer.from(parts.map((p) => p.text).join(''), 'latin1')], close: 'idle', version: parts[0].stream ? parts[0].version : undefined };
      }
      case 'cut': {
        const { text } = request();
        const cut = text.slice(0, random.int(1, Math.max(1, text.indexOf('\r\n\r\n'))));
        return { label: `cut ${JSON.stringify(cut.slice(0, 80))}`, chunks: [Buffer.from(cut, 'latin1')], close: random.pick(['idle', 'fin', 'now'] as const) };
      }
      case 'garbage': {
        const bytes = random.pick([
          () => random.bytes(random.int(1, 2000)),
          () => Buffer.from(random.text(random.int(1, 500), 'ABC xyz\r\n:/%?#\t'), 'latin1'),
          () => Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
          () => Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...random.bytes(64)]),
          () => Buffer.from('\r\n\r\n\r\n', 'latin1'),
          () => Buffer.concat([Buffer.from(imageRequest(url), 'latin1'), random.bytes(random.int(1, 500))]),
        ])();
        return { label: `garbage ${bytes.subarray(0, 40).toString('hex')}`, chunks: [bytes], close: random.pick(['idle', 'fin'] as const) };
      }
      case 'split': {
        // The same request in several writes, split at random places.
        const { text, version, stream } = request();
        const points = Array.from({ length: random.int(1, 4) }, () => random.int(0, text.length)).sort((a, b) => a - b);
        const chunks = [0, ...points].map((start, i, all) => Buffer.from(text.slice(start, all[i + 1] ?? text.length), 'latin1')).filter((chunk) => chunk.length > 0);
        return { label: `split ${JSON.stringify(text.slice(0, 80))}`, chunks, close: 'idle', version: stream ? version : undefined };
      }
      case 'abort': {
        const { text } = request();
        return { label: `abort ${JSON.stringify(text.slice(0, 80))}`, chunks: [Buffer.from(text, 'latin1')], close: 'now' };
      }
      default: {
        const { text, version, stream } = request();
        return { label: `request ${JSON.stringify(text.slice(0, 80))}`, chunks: [Buffer.from(text, 'latin1')], close: 'idle', version: stream ? version : undefined };
      }
    }
  };
}

/** Every response head in `data` (pipelined responses, 100 Continue). */
function heads(data: Buffer): { status: number; headers: string }[] {
  const text = data.toString('latin1');
  return [...text.matchAll(/HTTP\/\d\.\d (\d{3})[^\r\n]*\r\n((?:[^\r\n]+\r\n)*)\r\n/g)].map((match) => ({
    status: Number(match[1]),
    headers: match[2],
  }));
}

async function runCase(url: string, fuzzCase: FuzzCase): Promise<RawConnection> {
  const connection = await RawConnection.connect(url);
  for (const [i, chunk] of fuzzCase.chunks.entries()) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    connection.write(chunk);
  }
  if (fuzzCase.close === 'now') {
    connection.destroy();
    return connection;
  }
  if (fuzzCase.close === 'fin') connection.end();
  const sent = Date.now();
  // Done when the server closes, or when it has answered and then gone quiet; a request
  // that gets no answer at all (cut, CONNECT) is given a second.
  await eventually(
    () =>
      connection.closed ||
      (connection.received > 0 && Date.now() - connection.lastDataAt > IDLE_MS) ||
      Date.now() - sent > (connection.received > 0 ? 3000 : NO_ANSWER_MS),
    'the connection to close or go quiet',
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
  const app = await startCounterApp({ maxConnectionsPerIp: 8, logger: mainLogger }, { after: (main) => main.use(strict).use(proxiedApp) });
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
    const next = generator(app.url);
    const cases = Array.from({ length: CASES }, next);
    const histogram = new Map<number, number>();
    const problems: string[] = [];
    let streamsSeen = 0;
    let http10Streams = 0;

    let index = 0;
    const worker = async (): Promise<void> => {
      while (index < cases.length) {
        const fuzzCase = cases[index++];
        const connection = await runCase(app.url, fuzzCase);
        for (const { status, headers } of heads(connection.data)) {
          histogram.set(status, (histogram.get(status) ?? 0) + 1);
          const capped = status === 503 && /^retry-after: \d+\r$/im.test(headers) && /^content-type: text\/plain/im.test(headers);
          if (status >= 500 && !capped) problems.push(`${status} for ${fuzzCase.label}`);
        }
        const head = parseHead(connection.data);
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
    process.stdout.write(`fuzz: ${cases.length} cases; responses ${summary}; ${streamsSeen} streams (${http10Streams} HTTP/1.0)\n`);

    expect(problems).toEqual([]);
    // The generator reached every kind of answer, including streams and the caps.
    for (const status of [200, 400, 403, 404, 429, 431]) expect(histogram.get(status) ?? 0).toBeGreaterThan(0);
    expect(streamsSeen).toBeGreaterThan(50);
    expect(http10Streams).toBeGreaterThan(5);

    // Nothing left behind once every socket has gone.
    await eventually(() => app.sockets.size === 0, 'every fuzz connection closed on the server', 10_000);
    expect(app.counter.count).toBe(0);
    expect(app.strict.counter.count).toBe(0);
    expect(app.proxied.counter.count).toBe(0);

    // Still serving: a normal viewer streams and is counted.
    const viewer = await Viewer.open(app.url);
    viewers.push(viewer);
    expect(viewer.status).toBe(200);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1 after the fuzz');
    expect(await (await fetch(`${app.url}/online.json`)).json()).toEqual({ count: 1 });

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

describe('odd but valid requests', () => {
  test('an HTTP/1.0 viewer gets the stream without chunked encoding, frames readable, and is counted until it leaves', async () => {
    const { url, counter } = await startCounterApp();
    const connection = await RawConnection.send(url, imageRequest(url, { version: 'HTTP/1.0' }));
    connections.push(connection);
    const head = await connection.waitForHead();
    expect(head.status).toBe(200);
    expect(head.headers['transfer-encoding']).toBeUndefined();
    expect(head.headers['content-length']).toBeUndefined();
    const boundary = /boundary=(\S+)/.exec(head.headers['content-type'])![1];
    expect(connection.body.subarray(0, boundary.length + 4).toString('latin1')).toBe(`--${boundary}\r\n`);
    await connection.waitFor((c) => c.parts.some((png) => showsCount(png, 1)), 'a frame showing 1');
    expect(decodePng(connection.parts[0]).width).toBe(200);
    expect(counter.count).toBe(1);
    connection.destroy();
    await eventually(() => counter.count === 0, 'count 0');
  });

  test('pipelined: a JSON request then a stream request in one write are both answered in order; the stream counts', async () => {
    const { url, counter } = await startCounterApp();
    const { host } = new URL(url);
    const json = rawRequest('GET', '/online.json', [['Host', host]]);
    const connection = await RawConnection.send(url, json + imageRequest(url));
    connections.push(connection);
    await connection.waitFor((c) => heads(c.data).length === 2, 'two responses');
    const [first, second] = heads(connection.data);
    expect(first.status).toBe(200);
    expect(connection.data.toString('latin1')).toContain('{"count":0}');
    expect(second.status).toBe(200);
    expect(second.headers).toMatch(/multipart\/x-mixed-replace/);
    await eventually(() => counter.count === 1, 'the pipelined stream counted');
    connection.destroy();
    await eventually(() => counter.count === 0, 'count 0');
  });

  test('pipelined: requests queued behind a stream close the connection (they could never be answered); nothing stays counted', async () => {
    const { url, counter } = await startCounterApp();
    const connection = await RawConnection.send(url, imageRequest(url) + imageRequest(url) + rawRequest('HEAD', '/online.png', [['Host', new URL(url).host]]));
    connections.push(connection);
    await connection.waitForClose(10_000);
    expect(heads(connection.data).length).toBeLessThanOrEqual(1);
    await eventually(() => counter.count === 0, 'count 0');
  });

  test('requests that stop half-way through the headers are never counted, and leave nothing when they go', async () => {
    const { url, counter } = await startCounterApp();
    const request = imageRequest(url);
    const halves = await Promise.all(
      Array.from({ length: 30 }, (_, i) => RawConnection.send(url, request.slice(0, 10 + ((i * 7) % (request.length - 14))))),
    );
    connections.push(...halves);
    const whole = await RawConnection.send(url, request);
    connections.push(whole);
    await whole.waitForParts(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(counter.count).toBe(1);
    for (const half of halves) expect(half.received).toBe(0);
    for (const half of halves) half.destroy();
    whole.destroy();
    await eventually(() => counter.count === 0, 'count 0');
  });

  test('a cap warning triggered by requests full of escape sequences is one line with no control characters', async () => {
    const logger = quietLogger();
    const { url } = await startCounterApp({ maxConnectionsPerIp: 1, logger });
    const hostile: [string, string][] = [
      ['X-Forwarded-For', '203.0.113.1\xc2\x9b31m'],
      ['User-Agent', 'evil\xff\xfe'],
    ];
    for (const target of ['/online.png', '/online.png?%1B%5B31m%0d%0aInjected', '/online.png']) {
      const connection = await RawConnection.send(url, imageRequest(url, { path: target, extra: hostile }));
      connections.push(connection);
      await connection.waitForHead();
    }
    expect(logger.warn).toHaveBeenCalledTimes(1);
    const [line] = logger.warn.mock.calls[0] as [string];
    expect(line).not.toMatch(/[\x00-\x1f\x7f\x9b]/);
    expect(line).not.toContain('Injected');
  });
});
