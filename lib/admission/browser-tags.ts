import type { Request } from 'express';
import { addressGroup } from './connection-limits.js';
import { monotonicNow } from '../util/clock.js';
import { Lru } from '../util/lru.js';
import { randomId } from '../util/random-ids.js';

/** The cookie that tells one browser's streams apart: a random id, nothing else. */
export const BROWSER_COOKIE = 'user_counter_browser';
const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const COOKIE_PATTERN = new RegExp(`(?:^|;\\s*)${BROWSER_COOKIE}=([^;]*)`);

/**
 * A browser restoring its session, or a reader opening several tabs at once, asks for every
 * page (and image) before any answer has set the cookie. Requests without the cookie from one
 * client address and User-Agent within this window are taken for one browser, and given one id.
 */
const FRESH_BROWSER_WINDOW_MS = 10_000;
/** Fresh browsers remembered at once (about 100 bytes each). */
const FRESH_BROWSERS_KEPT = 10_000;
/** Enough of a User-Agent to tell browsers apart; a longer one costs no more memory. */
const USER_AGENT_CHARS = 256;

/** Which browser a request comes from, and the cookie to set when it did not say. */
export interface BrowserTag {
  readonly id: string;
  /** A `Set-Cookie` value; undefined when the request sent the cookie already. */
  readonly setCookie: string | undefined;
}

interface TagSettings {
  /** 0: no browser is ever tagged (the per-browser cap is off, and no cookie is set). */
  readonly maxStreamsPerBrowser: number;
  readonly ipv6PrefixLength: number;
}

/**
 * Tells browsers apart for the per-browser cap (lib/admission/browser-streams.ts), by a session cookie
 * set on the stream, or on the page that shows it (`res.locals.userCounter`): a random id,
 * `HttpOnly`, `SameSite=Lax`, `Secure` on HTTPS, for the paths under the counter's mount. Over HTTP/2
 * a browser's tabs share one connection and need no cap: no tag, no cookie.
 */
export class BrowserTags {
  /**
   * Ids given to requests that had no cookie: by address group and User-Agent, for 10 s (an entry
   * older than that is dropped when the next new browser comes, and is never used again).
   */
  private readonly fresh = new Lru<string, { id: string; at: number }>(FRESH_BROWSERS_KEPT);

  constructor(private readonly settings: TagSettings) {}

  /**
   * The browser of a request, or undefined when the cap does not apply to it. `address`: the
   * client's (`req.ip`); `base`: the path the counter's router is mounted under.
   */
  tag(req: Request, address: string, base = req.baseUrl): BrowserTag | undefined {
    if (this.settings.maxStreamsPerBrowser === 0 || multiplexed(req)) return undefined;
    const sent = COOKIE_PATTERN.exec(req.headers.cookie ?? '')?.[1];
    if (sent !== undefined && ID_PATTERN.test(sent)) return { id: sent, setCookie: undefined };
    const id = this.freshId(address, req.headers['user-agent']);
    // A session cookie, never readable by scripts, for every path under the router's mount: the
    // pages that show the image must see it too, or each would give its browser a new id.
    const secure = req.secure ? '; Secure' : '';
    return { id, setCookie: `${BROWSER_COOKIE}=${id}; Path=${base || '/'}; HttpOnly; SameSite=Lax${secure}` };
  }

  /**
   * The id for a request without the cookie: the one given to its address and User-Agent moments
   * ago, else a new one. A client that sends no User-Agent is no browser, and is taken for no other.
   */
  private freshId(address: string, userAgent: string | undefined): string {
    if (!userAgent) return randomId(16);
    const key = `${addressGroup(address, this.settings.ipv6PrefixLength)}\n${userAgent.slice(0, USER_AGENT_CHARS)}`;
    const now = monotonicNow();
    const given = this.fresh.peek(key);
    if (given && now - given.at < FRESH_BROWSER_WINDOW_MS) return given.id;
    // Kept in the order given (peek is no use): what is past the window goes first, at once.
    for (let oldest = this.fresh.oldest(); oldest && now - oldest[1].at >= FRESH_BROWSER_WINDOW_MS; oldest = this.fresh.oldest()) {
      this.fresh.delete(oldest[0]);
    }
    const id = randomId(16);
    this.fresh.set(key, { id, at: now });
    return id;
  }
}

/** Whether the browser reaches the server over a multiplexed connection (HTTP/2 or later). */
function multiplexed(req: Request): boolean {
  if (req.httpVersionMajor >= 2) return true;
  const forwarded = req.headers['x-forwarded-http-version'];
  const version = Array.isArray(forwarded) ? forwarded[0] : forwarded;
  return version !== undefined && /^(?:HTTP\/)?[2-9]/i.test(version.trim());
}
