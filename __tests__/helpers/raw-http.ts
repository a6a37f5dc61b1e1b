import net from 'node:net';
import { MultipartParser } from '@remix-run/multipart-parser';
import { eventually } from './counter-app.js';

/** A response head as it came over the wire. */
export interface RawHead {
  /** `HTTP/1.1` or `HTTP/1.0` */
  readonly version: string;
  readonly status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  readonly headers: Record<string, string>;
  /** Where the body starts in the received bytes. */
  readonly bodyOffset: number;
}

export interface ConnectOptions {
  /** Another loopback address to connect from (`127.0.0.2`): another viewer address. */
  localAddress?: string;
}

/**
 * One TCP connection to a test server, written and read byte for byte: for what an
 * HTTP client library will not send (aborts before the first byte, resets, HTTP/1.0,
 * pipelining, garbage), and for viewers from another loopback address.
 */
export class RawConnection {
  private readonly chunks: Buffer[] = [];
  private joined: Buffer | undefined;
  /** Bytes received so far. */
  received = 0;
  /** The socket has closed (either side). */
  closed = false;
  /** The server ended its side (FIN). */
  ended = false;
  lastDataAt = Date.now();

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.joined = undefined;
      this.received += chunk.length;
      this.lastDataAt = Date.now();
    });
    socket.on('end', () => (this.ended = true));
    socket.on('close', () => (this.closed = true));
    // Resets and refusals are part of what these tests do; the state above says what happened.
    socket.on('error', () => undefined);
  }

  /** Connect to `url`'s host and port; resolves once connected. */
  static connect(url: string, { localAddress }: ConnectOptions = {}): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: hostname, port: Number(port), localAddress });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Connect, and send `request` at once. */
  static async send(url: string, request: string | Buffer, options?: ConnectOptions): Promise<RawConnection> {
    const connection = await RawConnection.connect(url, options);
    connection.write(request);
    return connection;
  }

  write(bytes: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Every byte received so far. */
  get data(): Buffer {
    this.joined ??= Buffer.concat(this.chunks);
    return this.joined;
  }

  /** The first response's head, once it is complete. */
  get head(): RawHead | undefined {
    return parseHead(this.data);
  }

  /** The status of every response head found in the received bytes (pipelined responses, 100 Continue). */
  get statuses(): number[] {
    return [...this.data.toString('latin1').matchAll(/HTTP\/\d\.\d (\d{3})[ \r]/g)].map((match) => Number(match[1]));
  }

  /** The first response's body, de-chunked when it is chunked (only the complete chunks). */
  get body(): Buffer {
    const head = this.head;
    if (!head) return Buffer.alloc(0);
    const raw = this.data.subarray(head.bodyOffset);
    return /chunked/i.test(head.headers['transfer-encoding'] ?? '') ? dechunk(raw) : raw;
  }

  /** The complete parts of a multipart first response, read by an independent parser. */
  get parts(): Buffer[] {
    const boundary = /boundary=([^;\s]+)/.exec(this.head?.headers['content-type'] ?? '')?.[1];
    if (!boundary) return [];
    const parser = new MultipartParser(boundary, { maxParts: Infinity, maxTotalSize: Infinity, maxFileSize: Infinity });
    const parts: Buffer[] = [];
    for (const part of parser.write(this.body)) parts.push(Buffer.from(part.bytes));
    return parts;
  }

  async waitFor(check: (connection: RawConnection) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    await eventually(() => check(this), what, timeoutMs);
  }

  /** Wait for a complete response head. */
  async waitForHead(timeoutMs = 5000): Promise<RawHead> {
    await this.waitFor((c) => c.head !== undefined, 'a response head', timeoutMs);
    return this.head!;
  }

  async waitForParts(count: number, timeoutMs = 5000): Promise<void> {
    await this.waitFor((c) => c.parts.length >= count, `${count} complete part(s)`, timeoutMs);
  }

  async waitForClose(timeoutMs = 5000): Promise<void> {
    await this.waitFor((c) => c.closed, 'the connection to close', timeoutMs);
  }

  /** Stop reading: the kernel buffers fill and the server sees backpressure. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Close our side cleanly (FIN), as a client that is done. */
  end(): void {
    this.socket.end();
  }

  /** Close at once, as a browser closing the page. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Close with a TCP reset (RST), as a crashed client or a dropped network. */
  reset(): void {
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }
}

/** The bytes of a request: a request line, headers in the order given, and an optional body. */
export function rawRequest(
  method: string,
  target: string,
  headers: [string, string][] = [],
  { version = 'HTTP/1.1', body = '' }: { version?: string; body?: string } = {},
): string {
  const lines = [`${method} ${target} ${version}`, ...headers.map(([name, value]) => `${name}: ${value}`)];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** A stream request as an `<img>` on `url`'s home page sends it (Host, Referer, Sec-Fetch-Dest). */
export function imageRequest(url: string, { path = '/online.png', extra = [] as [string, string][], version = 'HTTP/1.1' } = {}): string {
  const { host } = new URL(url);
  return rawRequest('GET', path, [['Host', host], ['Referer', `${url}/`], ['Sec-Fetch-Dest', 'image'], ...extra], { version });
}

/** Parse a response head at the start of `data`; undefined while incomplete. */
export function parseHead(data: Buffer): RawHead | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = data.toString('latin1', 0, end).split('\r\n');
  const match = /^(HTTP\/\d\.\d) (\d{3})/.exec(statusLine);
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { version: match[1], status: Number(match[2]), headers, bodyOffset: end + 4 };
}

/** The data of the complete chunks of a chunked body (RFC 9112 §7.1). */
export function dechunk(raw: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(raw.toString('latin1', at, lineEnd).split(';')[0], 16);
    if (!Number.isFinite(size) || size === 0) break;
    const start = lineEnd + 2;
    if (raw.length < start + size + 2) break;
    out.push(raw.subarray(start, start + size));
    at = start + size + 2;
  }
  return Buffer.concat(out);
}
