import type { IncomingMessage } from 'node:http';
import type { Request } from 'express';
import type { Warnings } from '../config/warnings.js';
import { DEFAULT_ROOM, roomNameProblem } from '../counting/room-names.js';
import { viewerDigest } from '../counting/viewer-identity.js';

/**
 * Clients that cannot show a `multipart/x-mixed-replace` stream, or should not hold one
 * open: GitHub's image proxy (camo: it fetches images for READMEs and rejects multipart),
 * Gmail's image proxy, search engine crawlers and link-preview fetchers.
 */
export const STATIC_USER_AGENTS =
  /github-camo|GoogleImageProxy|Googlebot|Google-InspectionTool|Storebot-Google|bingbot|BingPreview|DuckDuckBot|Baiduspider|YandexBot|YandexImages|Applebot|Amazonbot|PetalBot|SeznamBot|Sogou|Exabot|ia_archiver|archive\.org_bot|facebookexternalhit|Facebot|Twitterbot|Slackbot|Slack-ImgProxy|Discordbot|LinkedInBot|TelegramBot|WhatsApp|SkypeUriPreview|Pinterestbot|redditbot|Mastodon|\b(?:crawler|spider)\b/i;

/** The options a request is read with (from the resolved configuration). */
interface ReaderSettings {
  readonly room: ((req: Request) => string | undefined) | undefined;
  readonly identify: ((req: Request) => string | undefined) | undefined;
  /** Device pixels per CSS pixel when the request does not say (`?dpr=`). */
  readonly pixelRatio: number;
  /** The highest pixel ratio a request may ask for. */
  readonly maxPixelRatio: number;
  readonly staticFallback: boolean | ((req: Request) => boolean);
  readonly warnings: Warnings;
}

/**
 * Everything the counter reads from a request, by the `room`, `identify`, `pixelRatio` and
 * `staticFallback` options: its room, viewer, pixel ratio and address, and whether it gets a
 * still image instead of the stream.
 */
export class RequestReader {
  constructor(private readonly settings: ReaderSettings) {}

  /** The request's room, or why its name is refused. Throws what the `room` option throws. */
  roomOf(req: Request): { room: string } | { problem: string } {
    const named: unknown = this.settings.room?.(req);
    if (named === undefined || named === null) return { room: DEFAULT_ROOM };
    // `req.query.page` is an array for `?page=a&page=b`.
    if (typeof named !== 'string') return { problem: 'The room name must be one piece of text.' };
    const problem = roomNameProblem(named);
    return problem ? { problem } : { room: named };
  }

  /** The digest of the request's identity; undefined counts the stream on its own. Throws what `identify` throws. */
  viewerOf(req: Request): string | undefined {
    if (!this.settings.identify) return undefined;
    const identity: unknown = this.settings.identify(req);
    if (typeof identity === 'string') return viewerDigest(identity);
    if (identity !== undefined && identity !== null) {
      this.settings.warnings.warn(
        'WRN_USER_COUNTER_IDENTIFY_NOT_STRING',
        `\`identify\` returned ${typeof identity}; it must return a string (or undefined). Such streams count on their own.`,
      );
    }
    return undefined;
  }

  /** The pixel ratio `?dpr=` asks for, rounded into 1 to `maxPixelRatio`; else the `pixelRatio` option. */
  pixelRatioOf(req: IncomingMessage): number {
    const asked = queryOf(req).get('dpr');
    const ratio = asked === null || asked === '' ? NaN : Number(asked);
    if (!Number.isFinite(ratio)) return this.settings.pixelRatio;
    return Math.min(this.settings.maxPixelRatio, Math.max(1, Math.round(ratio)));
  }

  /**
   * The address the per-address caps count: `req.ip`. Without X-Forwarded-For, `req.ip` is the
   * socket's address whatever 'trust proxy' says: skip its parsing, which shows in a join storm's profile.
   */
  addressOf(req: Request): string {
    return (req.headers['x-forwarded-for'] === undefined ? req.socket.remoteAddress : req.ip) ?? req.socket.remoteAddress ?? '';
  }

  /** Whether the request's URL is one page view's own (`?view=`, as `res.locals.userCounter` writes it). */
  hasView(req: IncomingMessage): boolean {
    return queryOf(req).has('view');
  }

  /** Whether the request names the static image's own URL (`?static=1` or `?static=true`). */
  asksForStaticImage(req: IncomingMessage): boolean {
    const asked = queryOf(req).get('static');
    return asked === '1' || asked === 'true';
  }

  /**
   * Whether to answer with one PNG instead of the stream: never with `staticFallback: false`;
   * `?static=1` (or `true`) always; then, by default (`true`), a User-Agent of STATIC_USER_AGENTS;
   * a function decides itself (and may throw).
   */
  wantsStaticImage(req: Request): boolean {
    const decision = this.settings.staticFallback;
    if (decision === false) return false;
    if (this.asksForStaticImage(req)) return true;
    if (typeof decision === 'function') return decision(req) === true;
    return STATIC_USER_AGENTS.test(String(req.headers['user-agent'] ?? ''));
  }
}

/** The query of a request URL, whatever the app's query parser. */
function queryOf(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '';
  const at = url.indexOf('?');
  return new URLSearchParams(at === -1 ? '' : url.slice(at + 1));
}
