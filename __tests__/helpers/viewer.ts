import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { PartReader } from './multipart-reader.js';
import { closeAfterEachTest } from './cleanup.js';
import { eventually } from './time.js';
import type { RawConnection } from './raw-connection.js';

export interface ViewerOptions {
  /** Default `/online.png`. */
  path?: string;
  /** A room: `?page=` (encoded) on the path. */
  page?: string;
  /** Request headers instead of the default: a Referer as an `<img>` on the app's home page sends. */
  headers?: Record<string, string>;
  /** Headers added to the default ones. */
  extra?: Record<string, string>;
  method?: string;
}

const opened = new Set<Viewer>();

/**
 * One person looking at a page: a raw HTTP request for the image stream, its bytes
 * kept as they arrive and its parts read by an independent multipart parser.
 */
export class Viewer {
  /** Every body byte, as received. */
  readonly chunks: Buffer[] = [];
  ended = false;
  private readonly reader: PartReader;

  private constructor(
    readonly request: http.ClientRequest,
    readonly response: IncomingMessage,
  ) {
    this.reader = new PartReader(response.headers['content-type']);
    response.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.reader.write(chunk);
    });
    response.on('end', () => (this.ended = true));
    response.on('close', () => (this.ended = true));
    response.on('error', () => undefined);
  }

  /** Open a stream; resolves with the response headers. Closed after the test (helpers/cleanup.ts). */
  static open(baseUrl: string, { path = '/online.png', page, headers, extra, method = 'GET' }: ViewerOptions = {}): Promise<Viewer> {
    const target = page === undefined ? path : `${path}?page=${encodeURIComponent(page)}`;
    return new Promise((resolve, reject) => {
      const request = http.request(`${baseUrl}${target}`, {
        method,
        agent: false,
        headers: { ...(headers ?? { Referer: `${baseUrl}/` }), ...extra },
      });
      request.on('response', (response) => {
        const viewer = new Viewer(request, response);
        opened.add(viewer);
        resolve(viewer);
      });
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

  /** Every complete part's body (a PNG each), in order. */
  get frames(): Buffer[] {
    return this.reader.parts;
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
    if (this.reader.error) throw this.reader.error;
    return true;
  }

  async waitForEnd(timeoutMs = 5000): Promise<void> {
    await eventually(() => this.ended, 'the stream to end', timeoutMs);
  }

  /** The whole body as text, once the response has ended (a refusal's reason). */
  async text(timeoutMs = 5000): Promise<string> {
    await this.waitForEnd(timeoutMs);
    return this.body.toString();
  }

  /** Leave as a browser does when the page closes. */
  close(): void {
    this.request.destroy();
    opened.delete(this);
  }
}

/** Open a stream with `extra` request headers, and expect it accepted (200). */
export async function openAccepted(baseUrl: string, extra: Record<string, string> = {}): Promise<Viewer> {
  const viewer = await Viewer.open(baseUrl, { extra });
  expect(viewer.status).toBe(200);
  return viewer;
}

/** Open `n` streams of `baseUrl` at once. */
export function openViewers(baseUrl: string, n: number): Promise<Viewer[]> {
  return Promise.all(Array.from({ length: n }, () => Viewer.open(baseUrl)));
}

/** Close every stream still open (helpers/cleanup.ts, after each test). */
export function closeAllViewers(): void {
  for (const viewer of opened) viewer.close();
  opened.clear();
}
closeAfterEachTest(closeAllViewers);

/** The close-delimiter of `viewer`'s stream (`\r\n--BOUNDARY--\r\n`), from its Content-Type. */
export function closeDelimiterOf(viewer: Viewer | RawConnection): string {
  const contentType = viewer instanceof Viewer ? viewer.headers['content-type'] : viewer.head?.headers['content-type'];
  const boundary = /boundary=(\S+)/.exec(String(contentType))?.[1];
  expect(boundary).toBeDefined();
  return `\r\n--${boundary}--\r\n`;
}
