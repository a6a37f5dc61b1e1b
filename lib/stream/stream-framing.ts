/**
 * How one stream lays out its bytes between frames, chosen per request from what the
 * request says about its browser. Every engine gets the same parts (each frame followed
 * at once by the next part's delimiter and headers); they differ only in heartbeat bytes.
 *
 * Measured in each engine (Chromium 156, Firefox 153 ESR, WebKitGTK 2.50; docs/browsers.md):
 * - Chromium and WebKit show part N once part N+1's headers are complete, and close the
 *   connection as soon as the page goes. Chromium ignores bytes of part N+1 until the part
 *   is complete; WebKit starts drawing part N+1 from its first body bytes, so a PNG sent
 *   ahead in pieces is a broken image there, and a broken image's stream then outlives
 *   its page. They get no heartbeat bytes.
 * - Firefox (Gecko) shows a part when its delimiter arrives, and drops the stream of a
 *   closed page only when bytes arrive on it. It gets heartbeat bytes: the next frame's
 *   own first bytes, which every frame shares and which cost nothing on screen.
 *
 * No one placement serves all three: heartbeats inside the next part's headers keep
 * Chromium and WebKit from showing the frame before them at all. A client that cannot be
 * placed gets no heartbeats, the framing that never shows a broken image.
 */
export interface StreamFraming {
  /** Send heartbeat bytes between frames. */
  readonly heartbeats: boolean;
}

export const WITH_HEARTBEATS: StreamFraming = Object.freeze({ heartbeats: true });
export const WITHOUT_HEARTBEATS: StreamFraming = Object.freeze({ heartbeats: false });

/**
 * Gecko says `Gecko/<date or version>` in its User-Agent; every other engine that mentions
 * Gecko says `like Gecko` (Chromium, WebKit, Firefox on iOS, which is WebKit).
 */
const GECKO = /\bGecko\/\d/;
const LIKE_GECKO = /like Gecko/i;

/** Whether a `User-Agent` is Gecko's (Firefox on every system but iOS, where it is WebKit). */
export function isGecko(userAgent: string | undefined): boolean {
  return userAgent !== undefined && GECKO.test(userAgent) && !LIKE_GECKO.test(userAgent);
}

/** The framing for a browser known to be Gecko or not (`isGecko` of its `User-Agent`). */
export function framingOf(gecko: boolean): StreamFraming {
  return gecko ? WITH_HEARTBEATS : WITHOUT_HEARTBEATS;
}
