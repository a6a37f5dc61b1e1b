import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import { closeAfterEachTest } from './cleanup.js';
import { PartReader } from './multipart-reader.js';
import type { Side } from './proxies.js';
import { RawConnection, rawRequest } from './raw-connection.js';
import type { CounterApp } from './counter-app.js';
import { eventually } from './time.js';
import { decodePng, showsCount } from '../../support/png.js';

/*
 * Clients on either side of a proxy: HTTP/1.1 (a raw connection, byte for byte) or HTTP/2 over
 * TLS (node:http2, one session per browser), behind one interface, so that a test reads the
 * same whatever the browser side speaks.
 */

/** A stream as a page holds it, on either side. */
export interface SideStream {
  readonly side: Side;
  /** Status and headers, as the proxy sent them (lower-case names). */
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Complete parts (a PNG each), read by an independent multipart parser. */
  readonly parts: Buffer[];
  /** The response ended or its connection closed. */
  readonly ended: boolean;
  /** Leave as a closed page does: close the connection (HTTP/1.1) or cancel the stream (HTTP/2). */
  leave(): void;
}

export interface StreamOptions {
  /** Another loopback address to connect from (`127.0.0.2`): another viewer. */
  readonly localAddress?: string;
  /** Headers beyond those an `<img>` sends (Host, Referer, Sec-Fetch-Dest). */
  readonly headers?: Record<string, string>;
  /** HTTP/2 only: the browser connection to open the stream on (several tabs of one browser). */
  readonly browser?: Http2Browser;
}

/** A response read whole. */
export interface WholeResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** As sent (still compressed, if it was). */
  readonly body: Buffer;
}

const sessions = new Set<Http2Browser>();

/** One browser's HTTP/2 connection to a site (its tabs share it). */
export class Http2Browser {
  private constructor(readonly session: ClientHttp2Session) {
    session.on('error', () => undefined);
    sessions.add(this);
  }

  /** Connect over TLS (any certificate), from `localAddress` if given; resolves once connected. */
  static connect(url: string, localAddress?: string): Promise<Http2Browser> {
    return new Promise((resolve, reject) => {
      const { hostname, port } = new URL(url);
      const session = http2.connect(url, {
        createConnection: () =>
          tls.connect({ socket: net.connect({ host: hostname, port: Number(port), localAddress }), rejectUnauthorized: false, ALPNProtocols: ['h2'] }),
      });
      session.once('connect', () => {
        session.off('error', reject);
        resolve(new Http2Browser(session));
      });
      session.once('error', reject);
    });
  }

  /** Send a request; resolves with the stream once its response headers arrive. */
  request(headers: Record<string, string>): Promise<{ stream: ClientHttp2Stream; headers: IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      const stream = this.session.request(headers);
      stream.on('error', () => undefined);
      stream.once('response', (response) => resolve({ stream, headers: response }));
      stream.once('close', () => reject(new Error(`The HTTP/2 stream for ${headers[':path']} closed before its response (code ${stream.rstCode}).`)));
    });
  }

  close(): void {
    this.session.destroy();
    sessions.delete(this);
  }
}
closeAfterEachTest(() => {
  for (const browser of sessions) browser.close();
});

function flatHeaders(headers: IncomingHttpHeaders | Record<string, string>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !name.startsWith(':')) flat[name] = String(value);
  return flat;
}

/** Open the image stream at `url` over `side`, as an `<img>` on the site's home page does; resolves with its response head. */
export async function openStream(url: string, side: Side, { localAddress, headers = {}, browser }: StreamOptions = {}): Promise<SideStream> {
  if (side === 'http/1.1') {
    const raw = await RawConnection.open(url, { localAddress, extra: Object.entries(headers) });
    const head = await raw.waitForHead(10_000);
    return {
      side,
      status: head.status,
      headers: head.headers,
      get parts() {
        return raw.parts;
      },
      get ended() {
        return raw.bodyEnded || raw.closed;
      },
      leave: () => raw.destroy(),
    };
  }
  const tab = browser ?? (await Http2Browser.connect(url, localAddress));
  const { stream, headers: response } = await tab.request({
    ':path': '/online.png',
    referer: `${url}/`,
    'sec-fetch-dest': 'image',
    ...Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value])),
  });
  const reader = new PartReader(String(response['content-type']));
  let ended = false;
  stream.on('data', (chunk: Buffer) => reader.write(chunk));
  stream.once('end', () => (ended = true));
  stream.once('close', () => (ended = true));
  return {
    side,
    status: Number(response[':status']),
    headers: flatHeaders(response),
    get parts() {
      if (reader.error) throw reader.error;
      return reader.parts;
    },
    get ended() {
      return ended;
    },
    leave: () => stream.close(http2.constants.NGHTTP2_CANCEL),
  };
}

/** GET `path` at `url` over `side` and read the whole response, as sent. */
export async function getWhole(url: string, side: Side, path: string, headers: Record<string, string> = {}): Promise<WholeResponse> {
  if (side === 'http/1.1') {
    const { host } = new URL(url);
    const raw = await RawConnection.send(url, rawRequest('GET', path, [['Host', host], ['Connection', 'close'], ...Object.entries(headers)]));
    await raw.waitFor((c) => c.bodyEnded || c.closed, `the response to GET ${path}`, 10_000);
    raw.destroy();
    return { status: raw.head?.status ?? 0, headers: raw.head?.headers ?? {}, body: raw.body };
  }
  const browser = await Http2Browser.connect(url);
  try {
    const { stream, headers: response } = await browser.request({ ':path': path, ...headers });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve) => stream.once('end', resolve));
    return { status: Number(response[':status']), headers: flatHeaders(response), body: Buffer.concat(chunks) };
  } finally {
    browser.close();
  }
}

/** Wait until `stream`'s latest part satisfies `check`; resolves with the ms waited. */
export async function lastPartShows(stream: SideStream, check: (png: Buffer) => boolean, what: string, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  await eventually(() => stream.parts.length > 0 && check(stream.parts[stream.parts.length - 1]), `${what} (over ${stream.side})`, timeoutMs);
  return Math.round(performance.now() - started);
}

/** Long enough for a leave that a proxy passes on late (Varnish's built-in VCL: several keep-alives). */
const LEAVE_TIMEOUT_MS = 20_000;

/** How long each step took, as a viewer of `url` over `side` saw it. */
export interface Timings {
  firstFrameMs: number;
  joinShownMs: number;
  leaveCountedMs: number;
  leaveShownMs: number;
}

/**
 * A viewer opens the stream at `url` over `side`, a second joins, then closes its page: each step
 * timed, from the action to what the first viewer (or the app's count) shows.
 */
export async function joinAndLeave(url: string, side: Side, app: CounterApp): Promise<Timings> {
  const opening = performance.now();
  const first = await openStream(url, side);
  expect(first.status).toBe(200);
  expect(first.headers['content-type']).toMatch(/^multipart\/x-mixed-replace; boundary=/);
  await lastPartShows(first, (png) => showsCount(png, 1), 'the frame for 1');
  const firstFrameMs = Math.round(performance.now() - opening);

  const joining = performance.now();
  const second = await openStream(url, side);
  await lastPartShows(first, (png) => showsCount(png, 2), 'the frame for 2 when a second viewer joins');
  const joinShownMs = Math.round(performance.now() - joining);

  const leaving = performance.now();
  second.leave();
  await eventually(() => app.counter.count === 1, `the count back to 1 after the second viewer left (over ${side})`, LEAVE_TIMEOUT_MS);
  const leaveCountedMs = Math.round(performance.now() - leaving);
  await lastPartShows(first, (png) => showsCount(png, 1), 'the frame for 1 after the second viewer left');
  const leaveShownMs = Math.round(performance.now() - leaving);

  expect(first.ended).toBe(false);
  for (const part of first.parts) expect(() => decodePng(part)).not.toThrow();
  first.leave();
  await eventually(() => app.counter.count === 0, `the count back to 0 (over ${side})`, LEAVE_TIMEOUT_MS);
  return { firstFrameMs, joinShownMs, leaveCountedMs, leaveShownMs };
}

