import type { IncomingMessage } from 'node:http';
import type { FrameRenderer } from './frame-renderer.js';

/**
 * Clients that cannot show a `multipart/x-mixed-replace` stream, or should not hold one
 * open: GitHub's image proxy (camo: it fetches images for READMEs and rejects multipart),
 * mail image proxies, search engine crawlers and link-preview fetchers.
 */
export const STATIC_USER_AGENTS =
  /github-camo|GoogleImageProxy|Googlebot|Google-InspectionTool|Storebot-Google|bingbot|BingPreview|DuckDuckBot|Baiduspider|YandexBot|YandexImages|Applebot|Amazonbot|PetalBot|SeznamBot|Sogou|Exabot|ia_archiver|archive\.org_bot|facebookexternalhit|Facebot|Twitterbot|Slackbot|Slack-ImgProxy|Discordbot|LinkedInBot|TelegramBot|WhatsApp|SkypeUriPreview|Pinterestbot|redditbot|Mastodon|\b(?:crawler|spider)\b/i;

/** The query of a request URL, whatever the app's query parser. */
export function queryOf(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '';
  const at = url.indexOf('?');
  return new URLSearchParams(at === -1 ? '' : url.slice(at + 1));
}

/** Whether the request names the static image's own URL (`?static=1` or `?static=true`). */
export function asksForStaticImage(req: IncomingMessage): boolean {
  const asked = queryOf(req).get('static');
  return asked === '1' || asked === 'true';
}

/**
 * Whether to answer with one PNG instead of the stream: `?static=1` (or `true`) always;
 * then, by default (`true`), a User-Agent of STATIC_USER_AGENTS; a function decides itself.
 */
export function wantsStaticImage<R extends IncomingMessage>(req: R, decision: boolean | ((req: R) => boolean)): boolean {
  if (decision === false) return false;
  if (asksForStaticImage(req)) return true;
  if (typeof decision === 'function') return decision(req) === true;
  return STATIC_USER_AGENTS.test(String(req.headers['user-agent'] ?? ''));
}

/** How many static PNGs are kept, by room, pixel ratio and count. */
const CACHED_IMAGES = 128;

/**
 * The PNGs of the static fallback: the frame a stream of that room and ratio would show
 * now. Kept in a small cache, so a crawler asking again costs no render.
 */
export class StaticImages {
  private readonly cache = new Map<string, Promise<Buffer>>();

  constructor(private readonly rendererFor: (room: string, pixelRatio: number) => FrameRenderer) {}

  png(room: string, pixelRatio: number, count: number): Promise<Buffer> {
    const key = `${pixelRatio}:${count}:${room}`;
    let png = this.cache.get(key);
    if (png) {
      // Most recently used last: the cache forgets the oldest first.
      this.cache.delete(key);
    } else {
      // A drawing that throws at once becomes a rejection like any other.
      png = Promise.resolve().then(() => this.rendererFor(room, pixelRatio).render(count));
      png.catch(() => this.cache.delete(key));
    }
    this.cache.set(key, png);
    if (this.cache.size > CACHED_IMAGES) this.cache.delete(this.cache.keys().next().value as string);
    return png;
  }
}
