import { createHash } from 'node:crypto';
import http from 'node:http';
import { MultipartScanner } from './multipart-scanner.js';
import { now } from './ipc.js';

/** Where a viewer connects, and from which loopback address. */
export interface ViewerTarget {
  readonly port: number;
  readonly path: string;
  readonly localAddress: string;
}

/** The loopback source address of viewer number `index`: 127.x.y.z, never 127.0.0.x. */
export function loopbackAddress(index: number): string {
  return `127.${1 + ((index >> 16) & 127)}.${(index >> 8) & 255}.${index & 255}`;
}

/** A short hash of a frame's bytes. */
export function frameHash(png: Uint8Array): string {
  return createHash('sha1').update(png).digest('base64').slice(0, 16);
}

/** Interns frame hashes as small numbers, so a viewer's history is a few numbers. */
export class HashTable {
  private readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  id(hash: string): number {
    let id = this.ids.get(hash);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(hash, id);
      this.names.push(hash);
    }
    return id;
  }
}

/**
 * One person with the page open: an `<img>` request for the stream (with a Referer,
 * from its own loopback address), read part by part. It keeps what the benchmark
 * needs and nothing else: when each frame changed, how many frames and bytes came,
 * and since when it has held its current frame.
 */
export class BenchViewer {
  request: http.ClientRequest | undefined;
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
  /** Body bytes received, and how many of them came with the first frame. */
  bytes = 0;
  firstFrameBytes = 0;
  /** The current frame's hash id (-1 before the first), and since when it has been shown. */
  current = -1;
  heldSince = 0;
  /** The first frame's hash id. */
  first = -1;

  constructor(
    private readonly hashes: HashTable,
    /** Called after every complete frame with the previous and current hash ids. */
    private readonly onFrame: (viewer: BenchViewer, previous: number) => void = () => undefined,
  ) {}

  open(target: ViewerTarget, onOpen: (viewer: BenchViewer) => void): void {
    this.openedAt = now();
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      onOpen(this);
    };
    const request = http.request({
      host: '127.0.0.1',
      port: target.port,
      path: target.path,
      localAddress: target.localAddress,
      agent: false,
      headers: { Referer: `http://127.0.0.1:${target.port}/` },
    });
    this.request = request;
    request.on('response', (response) => {
      this.connectedAt = now();
      this.status = response.statusCode ?? 0;
      const boundary = /boundary=([^;\s]+)/.exec(String(response.headers['content-type']))?.[1];
      if (this.status !== 200 || !boundary) {
        this.error = `status ${this.status}`;
        response.resume();
        done();
        return;
      }
      const scanner = new MultipartScanner(boundary, (png) => this.frame(png));
      response.on('data', (chunk: Buffer) => {
        this.bytes += chunk.length;
        scanner.write(chunk);
      });
      const end = (): void => {
        this.ended = true;
      };
      response.on('end', end);
      response.on('close', end);
      response.on('error', end);
      done();
    });
    request.on('error', (error) => {
      this.error ??= error.message;
      this.ended = true;
      done();
    });
    request.end();
  }

  close(): void {
    this.request?.destroy();
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
