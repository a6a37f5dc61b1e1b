import http from 'node:http';
import { MultipartParser } from '@remix-run/multipart-parser';
import { serve } from '../ipc.js';
import type { Message } from '../ipc.js';

/*
 * Viewers in a process of their own, started inside a test network's namespace (see
 * viewers-over.ts): each an `<img>` request from its own address, its parts read as they come.
 * Requests on the IPC channel:
 *   open { url, viewers: [{ localAddress, userAgent, path }] } -> { statuses } once each has its first part
 *   state -> { viewers: [{ status, parts, ended, lastPart }] }
 */

/** Who a viewer is. */
export interface ViewerSpec {
  readonly localAddress: string;
  readonly userAgent: string;
  /** The image's path and query; default `/online.png`. */
  readonly path?: string;
}

/** What a viewer has seen so far. */
export interface ViewerState {
  readonly status: number;
  /** Complete parts received (first frame, changes, keep-alive re-sends). */
  readonly parts: number;
  /** Whether the response ended or its connection closed. */
  readonly ended: boolean;
  /** The latest complete part: a PNG. */
  readonly lastPart: Buffer | undefined;
}

class RemoteViewer {
  status = 0;
  parts = 0;
  ended = false;
  lastPart: Buffer | undefined;
  private parser: MultipartParser | undefined;

  constructor(url: string, spec: ViewerSpec) {
    this.request(url, spec.path ?? '/online.png', spec);
  }

  /** Ask for the image, following a redirect as a browser does (Firefox is sent to a view of its own). */
  private request(url: string, path: string, { localAddress, userAgent }: ViewerSpec): void {
    const request = http.request(`${url}${path}`, {
      agent: false,
      localAddress,
      headers: { 'User-Agent': userAgent, Referer: `${url}/`, 'Sec-Fetch-Dest': 'image', Accept: 'image/*' },
    });
    // Only the request that is answered with the image (not a redirect) says when the viewer has ended.
    let redirected = false;
    request.on('response', (response) => {
      const location = response.headers.location;
      if (response.statusCode === 302 && location) {
        redirected = true;
        response.resume();
        return this.request(url, location, { localAddress, userAgent });
      }
      this.status = response.statusCode ?? 0;
      const boundary = /boundary=([^;\s]+)/.exec(String(response.headers['content-type']))?.[1];
      if (boundary) this.parser = new MultipartParser(boundary, { maxParts: Infinity, maxTotalSize: Infinity, maxFileSize: Infinity });
      response.on('data', (bytes: Buffer) => {
        for (const part of this.parser?.write(bytes) ?? []) {
          this.parts += 1;
          this.lastPart = Buffer.from(part.bytes);
        }
      });
      response.on('close', () => (this.ended = true));
      response.on('error', () => undefined);
    });
    const ended = (): void => {
      if (!redirected) this.ended = true;
    };
    request.on('error', ended);
    request.on('close', ended);
    request.end();
  }

  get state(): ViewerState {
    return { status: this.status, parts: this.parts, ended: this.ended, lastPart: this.lastPart };
  }

  /** Answered: refused, or streaming with a first frame. */
  get settled(): boolean {
    return this.ended || (this.status !== 0 && (this.status !== 200 || this.parts > 0));
  }
}

const viewers: RemoteViewer[] = [];

serve({
  async open(message: Message) {
    const opened = (message.viewers as ViewerSpec[]).map((spec) => new RemoteViewer(message.url as string, spec));
    viewers.push(...opened);
    while (!opened.every((viewer) => viewer.settled)) await new Promise((resolve) => setTimeout(resolve, 10));
    return { statuses: opened.map((viewer) => viewer.status) };
  },
  state() {
    return { viewers: viewers.map((viewer) => viewer.state) };
  },
});
process.send!({ type: 'ready' });
