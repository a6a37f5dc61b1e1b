import type { IncomingMessage } from 'node:http';

/** Who may open the stream. */
export interface HotlinkPolicy {
  /** Serve requests that no `<img>` on a page made (no Referer, or another `Sec-Fetch-Dest`). */
  readonly allowDirect: boolean;
  /** When set, only pages of these origins may embed the image. */
  readonly allowedOrigins: ReadonlySet<string> | undefined;
}

/**
 * Why a stream request is refused (the text of a 403), or undefined when it may
 * stream. As the 2012 original: the image is for pages that embed it, so a request
 * without a Referer is refused; a browser that says what the request is for
 * (`Sec-Fetch-Dest`) must say `image`.
 */
export function hotlinkRejection(req: IncomingMessage, policy: HotlinkPolicy): string | undefined {
  const dest = req.headers['sec-fetch-dest'];
  const referer = req.headers.referer;
  if (!policy.allowDirect) {
    if (dest !== undefined && dest !== 'image') {
      return 'This image counts the viewers of a page: embed it with <img src="...">; it cannot be opened on its own.';
    }
    if (!referer) {
      return 'This image counts the viewers of a page: embed it with <img src="...">; direct views (no Referer) are refused.';
    }
  }
  if (policy.allowedOrigins && referer !== undefined && !policy.allowedOrigins.has(originOf(referer))) {
    return 'This counter may only be embedded by the pages of the sites it allows.';
  }
  return undefined;
}

/**
 * Why a static image (the fallback for clients that cannot stream) is refused, or undefined.
 * It costs no stream and GitHub's image proxy sends no Referer, so only a page of an origin
 * outside `allowedOrigins` is refused.
 */
export function staticImageRejection(req: IncomingMessage, policy: HotlinkPolicy): string | undefined {
  const referer = req.headers.referer;
  if (policy.allowedOrigins && referer !== undefined && !policy.allowedOrigins.has(originOf(referer))) {
    return 'This counter may only be embedded by the pages of the sites it allows.';
  }
  return undefined;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'null';
  }
}
