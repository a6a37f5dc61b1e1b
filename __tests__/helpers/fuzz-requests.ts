import { imageRequest, rawRequest } from './raw-connection.js';
import { Random } from './random.js';

/*
 * The seeded fuzz of hostile/fuzz.test.ts: what it sends (a mix of malformed, odd and
 * valid requests, cut, split, pipelined and flooded) and how it reads the answers.
 */

/** Text that must never reach a log line as it was sent. */
export const ESCAPE_PAYLOADS = ['\x1b[31mred\x1b[0m', '%1B%5B31m', 'a\x1b]0;title\x07b', '\xc2\x9b31m', '%0d%0aInjected: 1', '\\x1b[2J'];

/** One fuzz case: what is written to a fresh connection, and how it ends. */
export interface FuzzCase {
  /** What the generator made, for the failure message. */
  readonly label: string;
  /** Written one after another, with a pause between. */
  readonly chunks: Buffer[];
  /** `idle`: wait until the server closes or goes quiet; `fin`: half-close after writing; `now`: close at once. */
  readonly close: 'idle' | 'fin' | 'now';
  /** The first request's version, when it is a stream request (to check HTTP/1.0 framing). */
  readonly version?: string;
  /** Requests follow a stream request on the connection: if it streams, the server must close the connection. */
  readonly behindStream?: true;
  /** A static image of a room name never used before (`?static=1&page=`). */
  readonly freshStaticRoom?: true;
}

/**
 * Malformed and odd requests to the app at `url` (mounting `/online.png`, `/strict/online.png`
 * and `/proxied/online.png`), from a seeded generator: the same seed, the same cases.
 */
export function fuzzCases(url: string, seed: number, strictOrigin: string): () => FuzzCase {
  const random = new Random(seed);
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
      () => `${strictOrigin}/`,
      () => `${strictOrigin}/${random.text(5)}`,
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
    maybe(0.05, 'Expect', ['100-continue', '100-Continue', 'foo', '', '100-continue, foo', () => random.text(100)]);
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

  /** Requests Node answers itself, or hands to `checkContinue`, never emitting `request`. */
  const answeredByNode = (): string =>
    random.pick<() => string>([
      () => rawRequest(random.pick(['GET', 'POST']), '/online.json', [['Host', host], ['Expect', random.pick(['x', '200-ok', '', '100-continue'])]]),
      () => rawRequest('GET', '/online.json'),
    ])();

  return (): FuzzCase => {
    const kind = random.pick(['request', 'request', 'request', 'request', 'pipelined', 'flood', 'cut', 'garbage', 'split', 'abort', 'static']);
    switch (kind) {
      case 'flood': {
        // A stream, then requests pipelined behind it in several writes: each would wait for ever.
        const behind = Array.from({ length: random.int(1, 40) }, () => (random.chance(0.3) ? answeredByNode() : request().text));
        const chunks = [Buffer.from(imageRequest(url), 'latin1')];
        for (let at = 0; at < behind.length; at += 10) chunks.push(Buffer.from(behind.slice(at, at + 10).join(''), 'latin1'));
        return { label: `flood of ${behind.length} behind a stream`, chunks, close: 'idle', behindStream: true };
      }
      case 'static': {
        // A still image of a room never seen, at any pixel ratio, with or without a Referer.
        const target = `/online.png?static=1&dpr=${random.int(1, 3)}&page=/fresh-${random.int(0, 2 ** 30)}`;
        const ref = referer();
        const text = rawRequest('GET', target, [['Host', host], ...(ref === undefined ? [] : [['Referer', ref] as [string, string]])]);
        return { label: `static ${target}`, chunks: [Buffer.from(text, 'latin1')], close: 'idle', freshStaticRoom: true };
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
export function responseHeads(data: Buffer): { status: number; headers: string }[] {
  const text = data.toString('latin1');
  return [...text.matchAll(/HTTP\/\d\.\d (\d{3})[^\r\n]*\r\n((?:[^\r\n]+\r\n)*)\r\n/g)].map((match) => ({
    status: Number(match[1]),
    headers: match[2],
  }));
}
