import type { Request } from 'express';
import type { Configuration } from './options.js';
import { DEFAULT_ROOM, roomNameProblem } from './room-registry.js';
import { queryOf } from './static-fallback.js';
import type { Logger } from './types.js';
import { viewerDigest } from './viewer-identity.js';

/**
 * What a stream request asks for, from the `room`, `identify` and `pixelRatio` options
 * and the request itself: its room, its viewer's digest and its pixel ratio.
 */
export class StreamTargets {
  private warnedAboutIdentity = false;

  constructor(
    private readonly config: Configuration,
    private readonly logger: Logger,
  ) {}

  /** The request's room, or why its name is refused. Throws what the `room` option throws. */
  roomOf(req: Request): { room: string } | { problem: string } {
    const named: unknown = this.config.room?.(req);
    if (named === undefined || named === null) return { room: DEFAULT_ROOM };
    // `req.query.page` is an array for `?page=a&page=b`.
    if (typeof named !== 'string') return { problem: 'The room name must be one piece of text.' };
    const problem = roomNameProblem(named);
    return problem ? { problem } : { room: named };
  }

  /** The digest of the request's identity; undefined counts the stream on its own. Throws what `identify` throws. */
  viewerOf(req: Request): string | undefined {
    if (!this.config.identify) return undefined;
    const identity: unknown = this.config.identify(req);
    if (typeof identity === 'string') return viewerDigest(identity);
    if (identity !== undefined && identity !== null && !this.warnedAboutIdentity) {
      this.warnedAboutIdentity = true;
      this.logger.warn(`express-user-counter: \`identify\` returned ${typeof identity}; it must return a string (or undefined). Such streams count on their own.`);
    }
    return undefined;
  }

  pixelRatioOf(req: Request): number {
    const asked = queryOf(req).get('dpr');
    const ratio = asked === null || asked === '' ? NaN : Number(asked);
    if (!Number.isFinite(ratio)) return this.config.pixelRatio;
    return Math.min(this.config.maxPixelRatio, Math.max(1, Math.round(ratio)));
  }
}
