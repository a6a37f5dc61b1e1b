import net from 'node:net';
import { closeAfterEachTest } from './cleanup.js';
import { PartReader } from './multipart-reader.js';
import { eventually } from './time.js';
import { Dechunker, parseHead } from './response-wire.js';
import type { RawHead } from './response-wire.js';

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
