import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { MultipartParser } from '@remix-run/multipart-parser';
import { eventually } from './counter-app.js';

export interface ViewerOptions {
  /** Default `/online.png`. */
  path?: string;
  /** Request headers; by default a Referer as an `<img>` on the app's home page sends. */
  headers?: Record<string, string>;
  method?: string;
}

/**
 * One person looking at a page: a raw HTTP request for the image stream, its bytes
 * kept as they arrive and its parts read by an independent multipart parser.
 */
export class Viewer {
  /** Every body byte, as received. */
  readonly chunks: Buffer[] = [];
  /** Every complete part's body (a PNG each), in order. */
  readonly frames: Buffer[] = [];
  /** Every complete part's headers. */
  readonly partHeaders: Record<string, string | undefined>[] = [];
  ended = false;
  /** Set when the independent parser rejected the stream. */
  parseError: Error | undefined;
  private parser: MultipartParser | undefined;

  private constructor(
    readonly request: http.ClientRequest,
    readonly response: IncomingMessage,
  ) {
    const match = /boundary=(?:"([^"]+)"|([^;\s]+))/.exec(String(response.headers['content-type']));
    const boundary = match?.[1] ?? match?.[2];
    if (boundary) this.parser = new MultipartParser(boundary, { maxParts: Infinity, maxTotalSize: Infinity, maxFileSize: Infinity });
    response.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      if (!this.parser || this.parseError) return;
      try {
        for (const part of this.parser.write(chunk)) {
          this.frames.push(Buffer.from(part.bytes));
          this.partHeaders.push({ ...part.headers });
        }
      } catch (error) {
        // A malformed stream fails the test waiting on it, not the whole test file.
        this.parseError = error as Error;
      }
    });
    response.on('end', () => (this.ended = true));
    response.on('close', () => (this.ended = true));
    response.on('error', () => undefined);
  }

  /** Open a stream; resolves with the response headers. */
  static open(baseUrl: string, { path = '/online.png', headers, method = 'GET' }: ViewerOptions = {}): Promise<Viewer> {
    return new Promise((resolve, reject) => {
      const request = http.request(`${baseUrl}${path}`, {
        method,
        agent: false,
        headers: headers ?? { Referer: `${baseUrl}/` },
      });
      request.on('response', (response) => resolve(new Viewer(request, response)));
      request.on('error', reject);
      request.end();
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  get headers(): IncomingHttpHeaders {
    return this.response.headers;
  }

  /** Every body byte so far, in one Buffer. */
  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** The latest complete frame. */
  get lastFrame(): Buffer | undefined {
    return this.frames[this.frames.length - 1];
  }

  async waitForFrames(count: number, timeoutMs = 5000): Promise<void> {
    await eventually(() => this.parsed() && this.frames.length >= count, `${count} frame(s), have ${this.frames.length}`, timeoutMs);
  }

  /** Wait until the latest complete frame satisfies `check`. */
  async waitForLastFrame(check: (png: Buffer) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    await eventually(() => this.parsed() && this.lastFrame !== undefined && check(this.lastFrame), what, timeoutMs);
  }

  /** Throws the parser's error, if the stream was malformed. */
  private parsed(): true {
    if (this.parseError) throw this.parseError;
    return true;
  }

  async waitForEnd(timeoutMs = 5000): Promise<void> {
    await eventually(() => this.ended, 'the stream to end', timeoutMs);
  }

  /** Leave as a browser does when the page closes. */
  close(): void {
    this.request.destroy();
  }
}

const opened = new Set<Viewer>();

/** `viewer`, to be closed by `closeAllViewers()` (call from afterEach). */
export function tracked(viewer: Viewer): Viewer {
  opened.add(viewer);
  return viewer;
}

/** Open `n` streams of `baseUrl` at once, tracked. */
export async function openViewers(baseUrl: string, n: number): Promise<Viewer[]> {
  const viewers = await Promise.all(Array.from({ length: n }, () => Viewer.open(baseUrl)));
  return viewers.map(tracked);
}

/** Close every tracked stream. */
export function closeAllViewers(): void {
  for (const viewer of opened) viewer.close();
  opened.clear();
}
