import net from 'node:net';
import { frameHash } from './frame-hash.js';
import type { HashTable } from './frame-hash.js';
import { MultipartScanner } from './multipart-scanner.js';
import { now } from './ipc.js';

/** Which browser a viewer's request says it is: its framing (lib/stream/stream-framing.ts) follows. */
export type ViewerBrowser = 'chromium' | 'firefox';

/** Where a viewer connects, from which loopback address, and as which browser. */
interface ViewerTarget {
  readonly port: number;
  readonly path: string;
  readonly localAddress: string;
  /** Chromium's request by default: whole frames only. Firefox's gets heartbeat bytes. */
  readonly browser?: ViewerBrowser;
}

/** The loopback source address of viewer number `index`: 127.x.y.z, never 127.0.0.x. */
export function loopbackAddress(index: number): string {
  return `127.${1 + ((index >> 16) & 127)}.${(index >> 8) & 255}.${index & 255}`;
}

const EMPTY = Buffer.alloc(0);
const requests = new Map<string, Buffer>();

/** The request head lines each browser sends for an `<img>` on the page at `/`, after its request line and Host. */
const BROWSER_HEADERS: Record<ViewerBrowser, (port: number) => string[]> = {
  chromium: (port) => [
    'Connection: keep-alive',
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
    'Accept: image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
    'Sec-Fetch-Site: same-origin',
    'Sec-Fetch-Mode: no-cors',
    'Sec-Fetch-Dest: image',
    `Referer: http://127.0.0.1:${port}/`,
    'Accept-Encoding: gzip, deflate, br, zstd',
    'Accept-Language: en-US,en;q=0.9',
  ],
  firefox: (port) => [
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0',
    'Accept: image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5',
    'Accept-Language: en-US,en;q=0.5',
    'Accept-Encoding: gzip, deflate, br, zstd',
    'Connection: keep-alive',
    `Referer: http://127.0.0.1:${port}/`,
    'Sec-Fetch-Dest: image',
    'Sec-Fetch-Mode: no-cors',
    'Sec-Fetch-Site: same-origin',
    'Priority: u=5, i',
  ],
};

/**
 * What `browser` sends for an `<img>` on the page at `/`: the same bytes for every viewer. Firefox's
 * asks for a URL of its page view's own (`?view=`, as `res.locals.userCounter` writes it), or the
 * counter would redirect it there first.
 */
function requestBytes(port: number, path: string, browser: ViewerBrowser): Buffer {
  const key = `${port} ${path} ${browser}`;
  let bytes = requests.get(key);
  if (!bytes) {
    const target = browser === 'firefox' ? `${path}${path.includes('?') ? '&' : '?'}view=bench` : path;
    bytes = Buffer.from([`GET ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...BROWSER_HEADERS[browser](port), '', ''].join('\r\n'), 'latin1');
    requests.set(key, bytes);
  }
  return bytes;
}

/**
 * One person with the page open: an `<img>` request for the stream (with a Referer,
 * from its own loopback address), read part by part. It keeps what the benchmark
 * needs and nothing else: when each frame changed, how many frames and bytes came,
 * and since when it has held its current frame.
 */
export class BenchViewer {
  socket: net.Socket | undefined;
  status = 0;
  /** When the request was made, and when the response headers came (the stream opened). */
  openedAt = 0;
  connectedAt = 0;
  error: string | undefined;
  ended = false;
  /** Complete frames received, including the first and keep-alive re-sends. */
  frames = 0;
  /** Frames identical to the one before (keep-alive re-sends). */
  repeats = 0;
  /** Arrival times of frames that differ from the one before (not the first frame). */
  readonly changes: number[] = [];
  firstFrameAt = 0;
  /** Body bytes received (after de-chunking), and how many of them came with the first frame. */
  bytes = 0;
  firstFrameBytes = 0;
  /** The current frame's hash id (-1 before the first), and since when it has been shown. */
  current = -1;
  heldSince = 0;
  /** The first frame's hash id. */
  first = -1;

  private head: Buffer | undefined = EMPTY;
  private scanner: MultipartScanner | undefined;
  private chunked = false;
  /** Chunked transfer coding: bytes left in the current chunk, the CRLF after it, the size line. */
  private chunkLeft = 0;
  private crlfLeft = 0;
  private sizeLine = '';

  constructor(
    private readonly hashes: HashTable,
    /** Called after every complete frame with the previous and current hash ids. */
    private readonly onFrame: (viewer: BenchViewer, previous: number) => void = () => undefined,
  ) {}

  /**
   * Connect and send the request. A raw socket with its own small HTTP/1.1 reader,
   * not `http.request`: the clients share the machine's cores with the server, and
   * every heartbeat byte is a chunk to read, so the client side must be cheap.
   */
  open(target: ViewerTarget, onOpen: (viewer: BenchViewer) => void): void {
    this.openedAt = now();
    let opened = false;
    this.onOpen = () => {
      if (opened) return;
      opened = true;
      onOpen(this);
    };
    const socket = net.connect({ host: '127.0.0.1', port: target.port, localAddress: target.localAddress });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.write(requestBytes(target.port, target.path, target.browser ?? 'chromium'));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => {
      this.error ??= error.message;
    });
    socket.on('close', () => {
      this.ended = true;
      if (this.connectedAt === 0) this.error ??= 'closed before the response';
      this.onOpen();
    });
  }

  private onOpen: () => void = () => undefined;

  private receive(chunk: Buffer): void {
    if (this.head === undefined) {
      this.body(chunk);
      return;
    }
    const head = this.head.length > 0 ? Buffer.concat([this.head, chunk]) : chunk;
    const end = head.indexOf('\r\n\r\n', 0, 'latin1');
    if (end < 0) {
      this.head = Buffer.from(head);
      return;
    }
    this.head = undefined;
    this.connectedAt = now();
    const lines = head.toString('latin1', 0, end).split('\r\n');
    this.status = Number(lines[0].split(' ')[1]);
    const header = (name: string) => lines.find((line) => line.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim();
    const boundary = /boundary=([^;\s]+)/.exec(header('content-type') ?? '')?.[1];
    if (this.status !== 200 || !boundary) {
      this.error = `status ${this.status}`;
      this.socket?.destroy();
      this.onOpen();
      return;
    }
    this.chunked = /chunked/i.test(header('transfer-encoding') ?? '');
    this.scanner = new MultipartScanner(boundary, (png) => this.frame(png));
    this.onOpen();
    if (head.length > end + 4) this.body(head.subarray(end + 4));
  }

  private body(data: Buffer): void {
    const scanner = this.scanner!;
    if (!this.chunked) {
      this.bytes += data.length;
      scanner.write(data);
      return;
    }
    let i = 0;
    while (i < data.length) {
      if (this.chunkLeft > 0) {
        const take = Math.min(this.chunkLeft, data.length - i);
        this.bytes += take;
        scanner.write(data.subarray(i, i + take));
        this.chunkLeft -= take;
        i += take;
        if (this.chunkLeft === 0) this.crlfLeft = 2;
      } else if (this.crlfLeft > 0) {
        this.crlfLeft -= 1;
        i += 1;
      } else {
        const byte = data[i++];
        if (byte === 0x0a) {
          const size = parseInt(this.sizeLine, 16);
          this.sizeLine = '';
          if (size === 0) {
            // The last chunk: the response is complete.
            this.ended = true;
            return;
          }
          this.chunkLeft = size;
        } else if (byte !== 0x0d) {
          this.sizeLine += String.fromCharCode(byte);
        }
      }
    }
  }

  close(): void {
    this.socket?.destroy();
  }

  /** The hash of the frame shown now, if any. */
  get currentHash(): string | undefined {
    return this.current >= 0 ? this.hashes.names[this.current] : undefined;
  }

  /** The hash of the first frame, if any. */
  get firstHash(): string | undefined {
    return this.first >= 0 ? this.hashes.names[this.first] : undefined;
  }

  private frame(png: Buffer): void {
    const at = now();
    const id = this.hashes.id(frameHash(png));
    const previous = this.current;
    this.frames += 1;
    if (previous === -1) {
      this.first = id;
      this.firstFrameAt = at;
      this.firstFrameBytes = this.bytes;
    } else if (id === previous) {
      this.repeats += 1;
    } else {
      this.changes.push(at);
    }
    if (id !== previous) {
      this.current = id;
      this.heldSince = at;
    }
    this.onFrame(this, previous);
  }

  /** The most frame changes that arrived within any `windowMs`. */
  maxChangesWithin(windowMs: number): number {
    let best = 0;
    let start = 0;
    for (let end = 0; end < this.changes.length; end++) {
      while (this.changes[end] - this.changes[start] >= windowMs) start += 1;
      best = Math.max(best, end - start + 1);
    }
    return best;
  }
}
