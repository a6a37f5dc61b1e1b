import type { Request } from 'express';
import type { WarningCode } from './codes.js';
import type { CountStore } from './store.js';

/** A sink for the few lines the middleware writes. */
export interface Logger {
  warn(message: string): void;
  error(message: string): void;
}

/**
 * A module with node-canvas's API: `require('canvas')`. Only the parts used here.
 */
export interface NodeCanvasModule {
  createCanvas(width: number, height: number): unknown;
  registerFont(path: string, options: { family: string; weight?: string }): void;
}

/** What a frame is drawn for, beside its count. */
export interface RenderContext {
  /** The room (page) the frame is for, `''` for the default; control characters removed, at most 64 characters. */
  readonly room: string;
  /** The count as text, per the `locale` option (`1,234`), else plain digits. */
  readonly formattedCount: string;
  /** Device pixels per CSS pixel: the frame is `width * pixelRatio` by `height * pixelRatio`. */
  readonly pixelRatio: number;
  /**
   * True for the last frame of a stream the server ended (`close()`, `maxStreamMs`, the
   * browser's oldest tab past `maxStreamsPerBrowser`): the image keeps it for as long as the
   * page is open, no longer live, so draw it so that it does not look live. The built-in
   * drawing dims the text. Not asked for with `endedFrame: false`.
   */
  readonly ended: boolean;
}

/**
 * Draws the frame for a count: a PNG, as a Buffer. At a `pixelRatio` above 1 it should be
 * that many times the configured width and height (the page shows it at the CSS size).
 */
export type RenderFunction = (count: number, context: RenderContext) => Buffer | Uint8Array | Promise<Buffer | Uint8Array>;

/** The shields.io badge's settings (`shields` option). Every field is optional. */
export interface ShieldsOptions {
  /** The badge's left side; `''` leaves it out. Default `'online'`. */
  label?: string;
  /** The right side's colour, as shields.io takes it: a name (`'blue'`), hex (`'#4c1'`), `rgb()` or `hsl()`. Default `'green'`. */
  color?: string;
  /**
   * How long shields.io may cache the badge, in seconds (the JSON's `cacheSeconds`); shields.io
   * applies at least 300 to endpoint badges. Default `300`.
   */
  cacheSeconds?: number;
}

/** The options of `userCounterMiddleware`. Every field is optional. */
export interface Options {
  /** The path of the live image stream. The count as JSON is at the same path with `.json` for `.png`. Default `'/online.png'`. */
  path?: string;
  /** Where the count lives. Default: a new `MemoryCountStore` (this process only). */
  store?: CountStore;
  /** Re-send the latest frame after this many milliseconds without one; 0 turns it off. Default `3000`. */
  keepAliveMs?: number;
  /**
   * Between frames, send one byte of the next frame this often, so that a browser that closed
   * the page (Firefox) notices and drops the stream within about a second; 0 turns it off.
   * Default `300`.
   */
  heartbeatMs?: number;
  /**
   * Destroy a stream whose viewer has accepted no bytes for this long while data waits; also the
   * longest the connection of a stream the server ended (`maxStreamMs`, a newer tab) stays open
   * for its viewer to take the end. Default `30000`.
   */
  stallTimeoutMs?: number;
  /**
   * A viewer whose network vanishes (a phone between networks, a closed lid, a NAT that forgot the
   * connection: no FIN, no RST) leaves the count once the bytes sent to it have gone this long
   * unacknowledged, within about `vanishTimeoutMs + keepAliveMs`. The kernel enforces it
   * (`TCP_USER_TIMEOUT` on Linux, `TCP_RXT_CONNDROPTIME` on macOS, set through the optional
   * dependency koffi); elsewhere it warns once, and the operating system's own limit applies (about
   * 15 minutes on Linux). A live viewer on a slow or lossy link, or back from an outage shorter
   * than this, keeps its stream. 0 turns it off. Default `20000`.
   */
  vanishTimeoutMs?: number;
  /** Image width in CSS pixels. Default `200`. */
  width?: number;
  /** Image height in CSS pixels. Default `30`. */
  height?: number;
  /**
   * The text drawn for a count; the second argument has the `room` (control characters removed,
   * at most 64 characters), the `formattedCount` (per `locale`) and the `pixelRatio`. A function
   * of the count alone (one parameter) draws the same frames for every room, which rooms then
   * share; one that declares the second parameter is drawn room by room.
   * Default ``(count, { formattedCount }) => `Users online: ${formattedCount}` `` (shared).
   */
  text?: (count: number, context: RenderContext) => string;
  /** A CSS font shorthand. The bundled family is `Anton`. Default `'20px Anton'`. */
  font?: string;
  /** The text colour, any CSS colour. Default `'rgb(0, 100, 0)'` (dark green). */
  color?: string;
  /** The background, any CSS colour. Default `'transparent'`. */
  background?: string;
  /**
   * Colour presets: `'light'` (dark green on white) or `'dark'` (light green on near-black);
   * `color` and `background` given beside it win. Default: none (dark green on transparent).
   */
  theme?: 'light' | 'dark';
  /**
   * Device pixels per CSS pixel, 1 to 3: a frame `pixelRatio` times as wide and high, drawn at that
   * scale, for sharp text on high-DPI screens (the page's `width`/`height` keep its CSS size). A
   * stream request may ask for its own with `?dpr=2` (rounded, clamped to 1..3). Default `1`.
   */
  pixelRatio?: number;
  /** Format the count per this locale (`'en-US'`: `1,234`; `'de'`: `1.234`). Default: plain digits. */
  locale?: string | string[];
  /**
   * A custom renderer that returns a PNG for a count; replaces the built-in drawing. As with
   * `text`, one that declares the second (context) parameter is called room by room. Default: none.
   */
  render?: RenderFunction;
  /** node-canvas (`require('canvas')`) to draw with instead of `@napi-rs/canvas`. Default: none. */
  canvas?: NodeCanvasModule;
  /** Serve the stream to requests that were not made by an `<img>` on a page (no Referer). Default `false`. */
  allowDirect?: boolean;
  /**
   * Origins (`'https://example.com'`) whose pages may embed the image; others get 403.
   * Default: any page.
   */
  allowedOrigins?: string[];
  /**
   * The most streams this instance holds at once; more get 503 with `Retry-After`. Default `10000`.
   * Keep it below the process's file-descriptor limit (`ulimit -n`).
   */
  maxConnections?: number;
  /**
   * The most streams one client address (`req.ip`) holds at once; more get 429 with `Retry-After`.
   * An office behind one NAT shares an address, so this is generous. Behind a reverse proxy, set
   * Express's `trust proxy` so that `req.ip` is the viewer's address, not the proxy's. Default `100`.
   */
  maxConnectionsPerIp?: number;
  /**
   * How many leading bits of an IPv6 address make one client for `maxConnectionsPerIp` and
   * `maxRoomsPerIp`: an ISP gives a home a /56 (sometimes a /64 or a /48), so single addresses,
   * or even /64s, would cost one client nothing to vary. From 32 to 128. Default `56`.
   */
  ipv6PrefixLength?: number;
  /**
   * Streams one browser keeps open over HTTP/1.1, where a browser has at most six connections
   * to a host and each tab showing the image holds one: a newer stream ends the browser's
   * oldest, whose image keeps a dimmed last frame (see `RenderContext.ended`), so that a reader
   * with many tabs can still load pages. A browser is told apart by a session cookie the
   * stream sets (`user_counter_browser`, a random id). Not applied over HTTP/2, the app's own or
   * a proxy's that sends `X-Forwarded-Http-Version` (every recipe of `docs/`). 0 turns it off: the
   * setting for a proxy or platform that speaks HTTP/2 to browsers and cannot tell the app
   * (Cloudflare, AWS ALB, Heroku; README, Deploying). Default `4`.
   */
  maxStreamsPerBrowser?: number;
  /** End each stream cleanly (its last frame, the close-delimiter) after this long; 0 never. Default `0`. */
  maxStreamMs?: number;
  /**
   * A stream the server ends (`close()`, `maxStreamMs`, `maxStreamsPerBrowser`) ends with its
   * count drawn as ended (dimmed; a custom drawing gets `RenderContext.ended`), since the `<img>`
   * keeps its last frame and never reconnects. `false`: it keeps its last live frame. A viewer
   * cut off for stalling (`stallTimeoutMs`) can be sent nothing more. Default `true`.
   */
  endedFrame?: boolean;
  /**
   * Serve the count as a shields.io endpoint badge at the stream's path with `.shields.json`
   * for `.png` (`/online.shields.json`), per room like the JSON count: `true` with the
   * defaults, `false` not at all, or its settings. Default `true`.
   */
  shields?: boolean | ShieldsOptions;
  /**
   * The room (page) a request counts in, for example `(req) => req.query.page` or the Referer's
   * path. Each room has its own count and frames; `undefined` or `''` is the default room. The
   * JSON endpoint applies it too and answers `{"count": room, "total": all, "room": name}`.
   * A name longer than 128 characters, or with control or other unprintable characters, gets 400.
   * Default: every request in the default room.
   */
  room?: (req: Request) => string | undefined;
  /**
   * The most rooms besides the default one with open streams on this instance; a stream for a
   * new room past it gets 429 with `Retry-After` and is not counted. A room without streams
   * costs nothing. Default `1000`.
   */
  maxRooms?: number;
  /**
   * The most rooms besides the default one in which one client address holds streams at once; a
   * stream for another room gets 429 with `Retry-After`. Keeps a few addresses from filling
   * `maxRooms` for everyone. An office behind one NAT reads several pages at once, so this is
   * generous. Default `25`.
   */
  maxRoomsPerIp?: number;
  /**
   * Who a stream belongs to, for example a session id or a hash of IP and User-Agent: the
   * streams of one identity (tabs, reconnects) count once per room, across instances with
   * RedisCountStore. Identities are hashed (SHA-256) before they are kept or sent anywhere;
   * hashing does not hide a guessable input such as an IP, so mix in a secret of your own.
   * `undefined`: the stream counts on its own. Default: every stream counts.
   */
  identify?: (req: Request) => string | undefined;
  /**
   * Answer clients that cannot stream with one PNG of the current count, not counted, no
   * Referer needed: `true` for the User-Agents of `STATIC_USER_AGENTS` (GitHub's image proxy
   * camo, Gmail's image proxy, search crawlers, link-preview fetchers) and for `?static=1` (or
   * `?static=true`); a function decides for itself (`?static=1` still applies); `false` never.
   * On `?static=1`, a URL of its own, the PNG is `Cache-Control: public, max-age=10`; on the
   * stream's URL it is `no-store` (a cache that ignored `Vary` would hand it to browsers).
   * Default `true`.
   */
  staticFallback?: boolean | ((req: Request) => boolean);
  /** Where warnings and errors go. Default `console`. */
  logger?: Logger;
  /**
   * Warnings to leave out: `true` for all, or their codes (`['WRN_USER_COUNTER_TRUST_PROXY']`);
   * each warning is otherwise written once per counter. Default `false`.
   */
  disableWarnings?: DisabledWarnings;
}

/** The `disableWarnings` option: `true` for no warnings at all, or the codes to leave out. */
export type DisabledWarnings = boolean | readonly WarningCode[];
