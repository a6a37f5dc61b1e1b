import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The cookie that tells one browser's streams apart: a random id, nothing else. */
const BROWSER_COOKIE = 'user_counter_browser';
const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const COOKIE_PATTERN = new RegExp(`(?:^|;\\s*)${BROWSER_COOKIE}=([^;]*)`);

/** A stream as the per-browser cap sees it (a `MultipartWriter`). */
interface BrowserStream {
  /** End the stream from the server, with a frame that says it has ended. */
  endFromServer(): unknown;
}

/** Which browser a stream request comes from, and the cookie to set when it had none. */
interface BrowserTag {
  readonly id: string;
  readonly setCookie: string | undefined;
}

/**
 * Over HTTP/1.1 a browser keeps at most six connections to one host (Chromium, Firefox and
 * Safari alike), and each tab showing the counter holds one for as long as it is open: a
 * reader with a seventh tab of the site could load nothing more from it, not even pages.
 * So one browser (a random id in a session cookie the stream sets) keeps at most `max`
 * streams; a newer one ends the oldest, which keeps its last frame drawn as ended. Over
 * HTTP/2 (the app's own, or a proxy's that says so in `X-Forwarded-Http-Version`) every
 * tab shares one connection, and no stream is ended.
 *
 * Memory: one entry per browser with an open stream, holding its streams (at most `max`).
 */
export class BrowserStreams {
  private readonly open = new Map<string, BrowserStream[]>();

  constructor(
    private readonly max: number,
    private readonly cookiePath: string,
  ) {}

  /** The browser of a stream request that counts against the cap; undefined when the cap does not apply. */
  tag(req: IncomingMessage): BrowserTag | undefined {
    if (this.max === 0 || multiplexed(req)) return undefined;
    const sent = COOKIE_PATTERN.exec(req.headers.cookie ?? '')?.[1];
    if (sent !== undefined && ID_PATTERN.test(sent)) return { id: sent, setCookie: undefined };
    const id = randomBytes(16).toString('base64url');
    // A session cookie, sent only with the stream's own requests, never readable by scripts.
    return { id, setCookie: `${BROWSER_COOKIE}=${id}; Path=${this.cookiePath}; HttpOnly; SameSite=Lax` };
  }

  /** `stream` opened for the browser `id`: end its oldest streams beyond the cap. */
  add(id: string, stream: BrowserStream): void {
    let streams = this.open.get(id);
    if (!streams) this.open.set(id, (streams = []));
    streams.push(stream);
    // Taken out first: ending one calls `remove` for it.
    const replaced = streams.length > this.max ? streams.splice(0, streams.length - this.max) : [];
    for (const old of replaced) void old.endFromServer();
  }

  /** `stream` of the browser `id` ended (for any reason). */
  remove(id: string, stream: BrowserStream): void {
    const streams = this.open.get(id);
    if (!streams) return;
    const at = streams.indexOf(stream);
    if (at >= 0) streams.splice(at, 1);
    if (streams.length === 0) this.open.delete(id);
  }

  /** Browsers with an open stream (for stats). */
  get browsers(): number {
    return this.open.size;
  }
}

/** Whether the browser reaches the server over a multiplexed connection (HTTP/2 or later). */
function multiplexed(req: IncomingMessage): boolean {
  if (req.httpVersionMajor >= 2) return true;
  const forwarded = req.headers['x-forwarded-http-version'];
  const version = Array.isArray(forwarded) ? forwarded[0] : forwarded;
  return version !== undefined && /^(?:HTTP\/)?[2-9]/i.test(version.trim());
}
