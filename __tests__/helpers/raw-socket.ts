import net from 'node:net';
import { MultipartParser } from '@remix-run/multipart-parser';
import { eventually } from './counter-app.js';

/**
 * A viewer on a bare TCP socket: the test decides exactly which request bytes go out
 * and when the socket is closed, reset, paused or never read. The response is read
 * by hand (status line, headers, chunked transfer coding) and its parts by an
 * independent multipart parser.
 */
export class RawClient {
  private static readonly live = new Set<RawClient>();
  /** Every byte received, as received (head and body, still chunk-coded). */
  readonly received: Buffer[] = [];
  /** Body bytes (transfer coding removed), in the order they arrived. */
  readonly bodyChunks: Buffer[] = [];
  /** Every complete part's body (a PNG each), in order. */
  readonly frames: Buffer[] = [];
  /** The socket's `close` was seen. */
  closed = false;
  /** The server ended the body (last chunk, or FIN for a body without length). */
  bodyEnded = false;
  status: number | undefined;
  headers: Record<string, string> = {};
  private headBuffer: Buffer | undefined = Buffer.alloc(0);
  private dechunker: Dechunker | undefined;
  private parser: MultipartParser | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      if (this.status !== undefined && !this.dechunker) this.bodyEnded = true;
    });
    socket.on('close', () => {
      this.closed = true;
      RawClient.live.delete(this);
    });
    RawClient.live.add(this);
    // Resets and EPIPE are what several tests provoke on purpose.
    socket.on('error', () => undefined);
  }

  /** A connected socket to `baseUrl`'s host and port; nothing sent yet. */
  static connect(baseUrl: string): Promise<RawClient> {
    const { hostname, port } = new URL(baseUrl);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname, () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Connect and send a whole GET for the stream (with a Referer, as an `<img>` sends). */
  static async request(baseUrl: string, path = '/online.png', extraHeaders: Record<string, string> = {}): Promise<RawClient> {
    const client = await RawClient.connect(baseUrl);
    client.socket.write(requestBytes(baseUrl, path, extraHeaders));
    return client;
  }

  /** Destroy every client socket a test left open (call from afterEach). */
  static destroyAll(): void {
    for (const client of RawClient.live) client.socket.destroy();
    RawClient.live.clear();
  }

  /** Every byte received so far. */
  get raw(): Buffer {
    return Buffer.concat(this.received);
  }

  /** Every body byte so far (transfer coding removed). */
  get body(): Buffer {
    return Buffer.concat(this.bodyChunks);
  }

  get lastFrame(): Buffer | undefined {
    return this.frames[this.frames.length - 1];
  }

  /** Wait for the status line and headers. */
  async waitForHead(timeoutMs = 5000): Promise<void> {
    await eventually(() => this.status !== undefined || this.closed, 'the response head', timeoutMs);
    if (this.status === undefined) throw new Error('The connection closed before a response head arrived.');
  }

  async waitForFrames(count: number, timeoutMs = 5000): Promise<void> {
    await eventually(() => this.frames.length >= count, `${count} frame(s), have ${this.frames.length}`, timeoutMs);
  }

  /** Close with FIN, as a browser closing a page does. */
  close(): void {
    this.socket.destroy();
  }

  /** Close with a TCP RST. */
  reset(): void {
    this.socket.resetAndDestroy();
  }

  private onData(chunk: Buffer): void {
    this.received.push(chunk);
    if (this.headBuffer) {
      this.headBuffer = Buffer.concat([this.headBuffer, chunk]);
      const end = this.headBuffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = this.headBuffer.toString('latin1', 0, end).split('\r\n');
      this.status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
      for (const line of lines) {
        const colon = line.indexOf(':');
        this.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      if (/chunked/i.test(this.headers['transfer-encoding'] ?? '')) this.dechunker = new Dechunker();
      const boundary = /boundary=([^;\s]+)/.exec(this.headers['content-type'] ?? '')?.[1];
      if (boundary) this.parser = new MultipartParser(boundary, { maxParts: Infinity, maxTotalSize: Infinity, maxFileSize: Infinity });
      chunk = this.headBuffer.subarray(end + 4);
      this.headBuffer = undefined;
    }
    const pieces = this.dechunker ? this.dechunker.write(chunk) : [chunk];
    if (this.dechunker?.done) this.bodyEnded = true;
    for (const piece of pieces) {
      if (piece.length === 0) continue;
      this.bodyChunks.push(piece);
      if (this.parser) for (const part of this.parser.write(piece)) this.frames.push(Buffer.from(part.bytes));
    }
  }
}

/** The bytes of a GET for `path` as an `<img>` on the app's home page sends it. */
export function requestBytes(baseUrl: string, path = '/online.png', extraHeaders: Record<string, string> = {}): Buffer {
  const { host } = new URL(baseUrl);
  const headers = { Host: host, Referer: `${baseUrl}/`, Accept: 'image/*', ...extraHeaders };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return Buffer.from(`GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`, 'latin1');
}

/** Removes the chunked transfer coding, one chunk-data piece at a time. */
class Dechunker {
  done = false;
  private pending = Buffer.alloc(0);
  /** Bytes still to come of the current chunk's data; -1: a size line is next. */
  private remaining = -1;
  private expectCrlf = false;

  write(input: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, input]) : input;
    this.pending = Buffer.alloc(0);
    while (data.length > 0 && !this.done) {
      if (this.expectCrlf) {
        if (data.length < 2) break;
        if (data[0] !== 0x0d || data[1] !== 0x0a) throw new Error('Chunked coding: CRLF expected after chunk data.');
        data = data.subarray(2);
        this.expectCrlf = false;
      } else if (this.remaining < 0) {
        const lineEnd = data.indexOf('\r\n');
        if (lineEnd < 0) break;
        const size = parseInt(data.toString('latin1', 0, lineEnd), 16);
        if (!Number.isFinite(size)) throw new Error('Chunked coding: bad chunk size line.');
        data = data.subarray(lineEnd + 2);
        if (size === 0) this.done = true;
        else this.remaining = size;
      } else {
        const take = Math.min(this.remaining, data.length);
        out.push(data.subarray(0, take));
        data = data.subarray(take);
        this.remaining -= take;
        if (this.remaining === 0) {
          this.remaining = -1;
          this.expectCrlf = true;
        }
      }
    }
    if (!this.done) this.pending = Buffer.from(data);
    return out;
  }
}
