import net from 'node:net';
import { closeAfterEachTest } from './cleanup.js';
import { PartReader } from './multipart-reader.js';
import { eventually } from './time.js';

/** A response head as it came over the wire. */
export interface RawHead {
  /** `HTTP/1.1` or `HTTP/1.0` */
  readonly version: string;
  readonly status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  readonly headers: Record<string, string>;
  /** Every header line as [name, value], in order, names as sent. */
  readonly fields: [string, string][];
  /** The head exactly as sent: status line and header lines, with the empty line that ends them. */
  readonly text: string;
  /** Where the body starts in the received bytes. */
  readonly bodyOffset: number;
}

export interface ConnectOptions {
  /** Another loopback address to connect from (`127.0.0.2`): another viewer address. */
  localAddress?: string;
}

/** A stream request as an `<img>` sends it (see `imageRequest`). */
export interface ImageRequestOptions {
  /** Default `/online.png`. */
  path?: string;
  /** More headers, after Host, Referer and Sec-Fetch-Dest. */
  extra?: [string, string][];
  /** Default `HTTP/1.1`. */
  version?: string;
}

/**
 * One TCP connection to a test server, written and read byte for byte: for what an HTTP
 * client library will not send (aborts before the first byte, resets, HTTP/1.0, pipelining,
 * garbage), for what it hides (each server write, heartbeat bytes, the last chunk), and for
 * viewers from another loopback address. The first response is read as it arrives: its head,
 * its body (chunked coding removed) and the parts of a multipart body. Every connection is
 * destroyed after each test (helpers/cleanup.ts).
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
  /** The first response's head, once complete. */
  head: RawHead | undefined;
  /**
   * The first response's body as the server wrote it: one Buffer per HTTP chunk (one per
   * `res.write`) when chunked, else one per read; complete chunks only.
   */
  readonly writes: Buffer[] = [];
  private dechunker: Dechunker | undefined;
  private reader: PartReader | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('end', () => (this.ended = true));
    socket.on('close', () => {
      this.closed = true;
      live.delete(this);
    });
    // Resets and refusals are part of what these tests do; the state above says what happened.
    socket.on('error', () => undefined);
    live.add(this);
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

  /** Connect and request the stream as an `<img>` on `url`'s home page does. */
  static open(url: string, options: ImageRequestOptions & ConnectOptions = {}): Promise<RawConnection> {
    return RawConnection.send(url, imageRequest(url, options), options);
  }

  write(bytes: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Every byte received so far. */
  get data(): Buffer {
    this.joined ??= Buffer.concat(this.chunks);
    return this.joined;
  }

  /** The status of every response head found in the received bytes (pipelined responses, 100 Continue). */
  get statuses(): number[] {
    return [...this.data.toString('latin1').matchAll(/HTTP\/\d\.\d (\d{3})[ \r]/g)].map((match) => Number(match[1]));
  }

  /** The first response's body so far (chunked coding removed, complete chunks only). */
  get body(): Buffer {
    this.throwIfMalformed();
    return Buffer.concat(this.writes);
  }

  /** The server ended the first response's body: its last chunk, or FIN for a body without length. */
  get bodyEnded(): boolean {
    return this.head !== undefined && (this.dechunker ? this.dechunker.done : this.ended);
  }

  /** The complete parts of a multipart first response (a PNG each), read by an independent parser. */
  get parts(): Buffer[] {
    this.throwIfMalformed();
    return this.reader?.parts ?? [];
  }

  /** The latest complete part. */
  get lastPart(): Buffer | undefined {
    return this.parts.at(-1);
  }

  async waitFor(check: (connection: RawConnection) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    await eventually(() => check(this), what, timeoutMs);
  }

  /** A malformed first response fails the test that reads it. */
  private throwIfMalformed(): void {
    const error = this.dechunker?.error ?? this.reader?.error;
    if (error) throw error;
  }

  /** Wait for a complete response head; fails at once if the connection closes first. */
  async waitForHead(timeoutMs = 5000): Promise<RawHead> {
    await this.waitFor((c) => c.head !== undefined || c.closed, 'a response head', timeoutMs);
    if (!this.head) throw new Error('The connection closed before a response head arrived.');
    return this.head;
  }

  /** Wait until the latest complete part satisfies `check`. */
  async waitForLastPart(check: (part: Buffer) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    await this.waitFor((c) => c.lastPart !== undefined && check(c.lastPart), what, timeoutMs);
  }

  async waitForParts(count: number, timeoutMs = 5000): Promise<void> {
    await this.waitFor((c) => c.parts.length >= count, `${count} complete part(s), have ${this.parts.length}`, timeoutMs);
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

  private receive(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.joined = undefined;
    this.received += chunk.length;
    this.lastDataAt = Date.now();
    if (this.head) return this.receiveBody(chunk);
    this.head = parseHead(this.data);
    if (!this.head) return;
    if (/chunked/i.test(this.head.headers['transfer-encoding'] ?? '')) this.dechunker = new Dechunker();
    this.reader = new PartReader(this.head.headers['content-type']);
    this.receiveBody(this.data.subarray(this.head.bodyOffset));
  }

  private receiveBody(bytes: Buffer): void {
    const writes = this.dechunker ? this.dechunker.write(bytes) : [bytes];
    for (const write of writes) {
      if (write.length === 0) continue;
      this.writes.push(write);
      this.reader!.write(write);
    }
  }
}

/** Every connection still open: destroyed after each test (helpers/cleanup.ts). */
const live = new Set<RawConnection>();
closeAfterEachTest(() => {
  for (const connection of live) connection.destroy();
  live.clear();
});

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
export function imageRequest(url: string, { path = '/online.png', extra = [], version = 'HTTP/1.1' }: ImageRequestOptions = {}): string {
  const { host } = new URL(url);
  return rawRequest('GET', path, [['Host', host], ['Referer', `${url}/`], ['Sec-Fetch-Dest', 'image'], ...extra], { version });
}

/** Parse a response head at the start of `data`; undefined while incomplete. */
export function parseHead(data: Buffer): RawHead | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const text = data.toString('latin1', 0, end + 4);
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const match = /^(HTTP\/\d\.\d) (\d{3})/.exec(statusLine);
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  const fields: [string, string][] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const [name, value] = [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
    fields.push([name, value]);
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  return { version: match[1], status: Number(match[2]), headers, fields, text, bodyOffset: end + 4 };
}

/**
 * Removes the chunked transfer coding (RFC 9112 §7.1), one whole chunk at a time, so each
 * server write is seen whole whatever TCP did with it. Stops at the last chunk, or at the
 * first byte that does not fit (`error`).
 */
class Dechunker {
  /** The last chunk arrived. */
  done = false;
  error: Error | undefined;
  private pending = Buffer.alloc(0);

  write(input: Buffer): Buffer[] {
    const out: Buffer[] = [];
    this.pending = Buffer.concat([this.pending, input]);
    while (!this.done && !this.error) {
      const lineEnd = this.pending.indexOf('\r\n');
      if (lineEnd < 0) break;
      const sizeText = this.pending.toString('latin1', 0, lineEnd).split(';')[0].trim();
      if (!/^[0-9a-fA-F]+$/.test(sizeText)) this.error = new Error(`Chunked coding: bad chunk size line ${JSON.stringify(sizeText)}.`);
      const size = parseInt(sizeText, 16);
      if (size === 0) this.done = true;
      if (this.error || this.done) break;
      const start = lineEnd + 2;
      if (this.pending.length < start + size + 2) break;
      if (this.pending.toString('latin1', start + size, start + size + 2) !== '\r\n') {
        this.error = new Error('Chunked coding: a chunk is not followed by CRLF.');
        break;
      }
      out.push(Buffer.from(this.pending.subarray(start, start + size)));
      this.pending = this.pending.subarray(start + size + 2);
    }
    return out;
  }
}
