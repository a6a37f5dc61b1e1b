import cluster from 'node:cluster';
import type { Request } from 'express';
import { MemoryCountStore } from './counting/memory-count-store.js';
import { countFormatter } from './frames/count-format.js';
import { BUNDLED_FONT_FAMILY } from './frames/frame-renderer.js';
import type { ImageSettings } from './frames/frame-renderer.js';
import { resolveShields } from './http/shields-endpoint.js';
import type { ShieldsBadge } from './http/shields-endpoint.js';
import type { CountStore, Logger, NodeCanvasModule, Options, RenderFunction } from './types/index.js';
import { checkKnownNames, checkLogger, describe, failInvalid, givenOptions, wholeNumber } from './config/validation.js';
import { checkDisabledWarnings, Warnings } from './config/warnings.js';

/** The options, checked and with every default filled in. */
export interface Configuration {
  readonly path: string;
  readonly jsonPath: string;
  readonly store: CountStore;
  readonly keepAliveMs: number;
  readonly heartbeatMs: number;
  readonly stallTimeoutMs: number;
  /** How long bytes sent to a viewer may go unacknowledged before the kernel closes its connection; 0: the system's own limit. */
  readonly vanishTimeoutMs: number;
  readonly maxStreamMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly ipv6PrefixLength: number;
  readonly maxStreamsPerBrowser: number;
  /** Whether a stream the server ends ends with its count drawn as ended. */
  readonly endedFrame: boolean;
  /** The shields.io badge; undefined: not served. */
  readonly shields: ShieldsBadge | undefined;
  readonly image: ImageSettings;
  /** Device pixels per CSS pixel when the request does not say (`?dpr=`). */
  readonly pixelRatio: number;
  /** The highest pixel ratio a request may ask for: 3, or less for a large image. */
  readonly maxPixelRatio: number;
  readonly formatCount: (count: number) => string;
  readonly render: RenderFunction | undefined;
  /**
   * Whether the frames may differ by room: a `text` or `render` that declares the context
   * parameter. Otherwise every room shares its frames.
   */
  readonly roomInDrawing: boolean;
  readonly canvas: NodeCanvasModule | undefined;
  readonly allowDirect: boolean;
  readonly allowedOrigins: ReadonlySet<string> | undefined;
  readonly room: ((req: Request) => string | undefined) | undefined;
  readonly maxRooms: number;
  readonly maxRoomsPerIp: number;
  readonly identify: ((req: Request) => string | undefined) | undefined;
  readonly staticFallback: boolean | ((req: Request) => boolean);
  readonly logger: Logger;
  /** Writes this counter's warnings, each once, except those `disableWarnings` turns off. */
  readonly warnings: Warnings;
}

const DEFAULTS = {
  path: '/online.png',
  keepAliveMs: 3000,
  heartbeatMs: 300,
  stallTimeoutMs: 30_000,
  vanishTimeoutMs: 20_000,
  maxStreamMs: 0,
  maxConnections: 10_000,
  maxConnectionsPerIp: 100,
  ipv6PrefixLength: 56,
  maxStreamsPerBrowser: 4,
  endedFrame: true,
  width: 200,
  height: 30,
  text: (count: number, { formattedCount }: { formattedCount: string }) => `Users online: ${formattedCount}`,
  font: `20px ${BUNDLED_FONT_FAMILY}`,
  color: 'rgb(0, 100, 0)',
  background: 'transparent',
  pixelRatio: 1,
  allowDirect: false,
  maxRooms: 1000,
  maxRoomsPerIp: 25,
  staticFallback: true,
} as const;

/** The colours of each theme; `color` and `background` given beside a theme win. */
const THEMES = {
  /** For light pages: the seed's dark green on white. */
  light: { color: 'rgb(0, 100, 0)', background: 'rgb(255, 255, 255)' },
  /** For dark pages: a light green on near-black. */
  dark: { color: 'rgb(126, 231, 135)', background: 'rgb(13, 17, 23)' },
} as const;

const OPTION_NAMES: readonly (keyof Options)[] = [
  'path', 'store', 'keepAliveMs', 'heartbeatMs', 'stallTimeoutMs', 'vanishTimeoutMs', 'width', 'height', 'text', 'font',
  'color', 'background', 'theme', 'pixelRatio', 'locale', 'render', 'canvas', 'allowDirect', 'allowedOrigins',
  'maxConnections', 'maxConnectionsPerIp', 'ipv6PrefixLength', 'maxStreamsPerBrowser', 'maxStreamMs', 'endedFrame', 'shields', 'room', 'maxRooms', 'maxRoomsPerIp', 'identify', 'staticFallback', 'logger', 'disableWarnings',
];
const DRAWING_OPTIONS: readonly (keyof Options)[] = ['width', 'height', 'text', 'font', 'color', 'background', 'theme', 'canvas'];
const MAX_IMAGE_SIDE = 4096;
/** Device pixels per CSS pixel: 3 covers every phone; more only costs bytes. */
const MAX_PIXEL_RATIO = 3;

/** Check the options and fill in the defaults; throws an `OptionsError` saying what to write instead. */
export function resolveOptions(options: Options = {}): Configuration {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    failInvalid(false, `The options must be an object, for example userCounterMiddleware({ path: '/online.png' }).`);
  }
  checkKnownNames(Object.keys(options), OPTION_NAMES);
  // `undefined` means "not given"; `null` is a mistake, caught by the checks below.
  const given = givenOptions(options);
  const logger = given.logger === undefined ? console : given.logger;
  checkLogger(logger);

  const path = given.path ?? DEFAULTS.path;
  if (typeof path !== 'string' || !/^\/[^\s?#]*$/.test(path) || path.endsWith('/')) {
    failInvalid(typeof path === 'string', `\`path\` must be a path such as '/online.png' (starting with '/', no query, no spaces); got ${describe(path)}.`);
  }
  const jsonPath = path.endsWith('.png') ? `${path.slice(0, -'.png'.length)}.json` : `${path}.json`;

  if (given.render !== undefined && typeof given.render !== 'function') {
    failInvalid(false, '`render` must be a function `(count) => pngBuffer` (or a Promise of one).');
  }
  if (given.canvas !== undefined) {
    const canvas = given.canvas as Partial<NodeCanvasModule>;
    if (typeof canvas?.createCanvas !== 'function' || typeof canvas.registerFont !== 'function') {
      failInvalid(false, "`canvas` must be node-canvas itself: `canvas: require('canvas')` (or `import * as canvas from 'canvas'`).");
    }
  }
  if (given.text !== undefined && typeof given.text !== 'function') {
    failInvalid(false, '`text` must be a function of the count, for example `(count) => `${count} online`` or `(count, { room, formattedCount }) => ...`.');
  }
  if (given.theme !== undefined && !Object.hasOwn(THEMES, given.theme)) {
    failInvalid(typeof given.theme === 'string', `\`theme\` must be ${Object.keys(THEMES).map((name) => `'${name}'`).join(' or ')}; got ${describe(given.theme)}.`);
  }
  let formatCount: (count: number) => string = String;
  if (given.locale !== undefined) {
    try {
      if (typeof given.locale !== 'string' && !Array.isArray(given.locale)) throw new TypeError('not a string');
      formatCount = countFormatter(given.locale);
    } catch {
      failInvalid(typeof given.locale === 'string' || Array.isArray(given.locale), `\`locale\` must be a BCP 47 language tag such as 'en-US' or 'de' (or an array of them); got ${describe(given.locale)}.`);
    }
  }
  for (const name of ['font', 'color', 'background'] as const) {
    const value = given[name];
    if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) {
      failInvalid(typeof value === 'string', `\`${name}\` must be a non-empty CSS string such as ${describe(DEFAULTS[name])}; got ${describe(value)}.`);
    }
  }
  for (const name of ['allowDirect', 'endedFrame'] as const) {
    if (given[name] !== undefined && typeof given[name] !== 'boolean') failInvalid(false, `\`${name}\` must be true or false; got ${describe(given[name])}.`);
  }
  if (given.room !== undefined && typeof given.room !== 'function') {
    failInvalid(false, "`room` must be a function of the request returning the room's name, for example `(req) => req.query.page`.");
  }
  if (given.identify !== undefined && typeof given.identify !== 'function') {
    failInvalid(false, '`identify` must be a function of the request returning who it is, for example `(req) => req.session.id`.');
  }
  if (given.staticFallback !== undefined && typeof given.staticFallback !== 'boolean' && typeof given.staticFallback !== 'function') {
    failInvalid(false, `\`staticFallback\` must be true, false or a function \`(req) => boolean\`; got ${describe(given.staticFallback)}.`);
  }

  const store = given.store === undefined ? new MemoryCountStore() : given.store;
  const methods = ['increment', 'decrement', 'count'] as const;
  if (methods.some((method) => typeof (store as Partial<CountStore> | null)?.[method] !== 'function') || typeof store.events?.on !== 'function') {
    failInvalid(false, '`store` must implement CountStore (increment, decrement, count, events): for example `new MemoryCountStore()`.');
  }
  const theme = given.theme === undefined ? undefined : THEMES[given.theme];
  const width = wholeNumber('width', given.width ?? DEFAULTS.width, 1, MAX_IMAGE_SIDE);
  const height = wholeNumber('height', given.height ?? DEFAULTS.height, 1, MAX_IMAGE_SIDE);
  // A client picks its pixel ratio (?dpr=): the largest frame it can ask for stays within MAX_IMAGE_SIDE.
  const maxPixelRatio = Math.max(1, Math.min(MAX_PIXEL_RATIO, Math.floor(MAX_IMAGE_SIDE / Math.max(width, height))));
  const configuration: Configuration = {
    path,
    jsonPath,
    store,
    keepAliveMs: wholeNumber('keepAliveMs', given.keepAliveMs ?? DEFAULTS.keepAliveMs, 0),
    heartbeatMs: wholeNumber('heartbeatMs', given.heartbeatMs ?? DEFAULTS.heartbeatMs, 0),
    stallTimeoutMs: wholeNumber('stallTimeoutMs', given.stallTimeoutMs ?? DEFAULTS.stallTimeoutMs, 1),
    vanishTimeoutMs: wholeNumber('vanishTimeoutMs', given.vanishTimeoutMs ?? DEFAULTS.vanishTimeoutMs, 0, 2 ** 31 - 1),
    maxStreamMs: wholeNumber('maxStreamMs', given.maxStreamMs ?? DEFAULTS.maxStreamMs, 0),
    maxConnections: wholeNumber('maxConnections', given.maxConnections ?? DEFAULTS.maxConnections, 1),
    maxConnectionsPerIp: wholeNumber('maxConnectionsPerIp', given.maxConnectionsPerIp ?? DEFAULTS.maxConnectionsPerIp, 1),
    ipv6PrefixLength: wholeNumber('ipv6PrefixLength', given.ipv6PrefixLength ?? DEFAULTS.ipv6PrefixLength, 32, 128),
    maxStreamsPerBrowser: wholeNumber('maxStreamsPerBrowser', given.maxStreamsPerBrowser ?? DEFAULTS.maxStreamsPerBrowser, 0),
    endedFrame: given.endedFrame ?? DEFAULTS.endedFrame,
    shields: resolveShields(given.shields, path),
    image: {
      width,
      height,
      text: given.text ?? DEFAULTS.text,
      font: given.font ?? DEFAULTS.font,
      color: given.color ?? theme?.color ?? DEFAULTS.color,
      background: given.background ?? theme?.background ?? DEFAULTS.background,
    },
    pixelRatio: wholeNumber('pixelRatio', given.pixelRatio ?? DEFAULTS.pixelRatio, 1, maxPixelRatio),
    maxPixelRatio,
    formatCount,
    render: given.render,
    roomInDrawing: given.render !== undefined ? given.render.length > 1 : given.text !== undefined && given.text.length > 1,
    canvas: given.canvas,
    allowDirect: given.allowDirect ?? DEFAULTS.allowDirect,
    allowedOrigins: given.allowedOrigins === undefined ? undefined : origins(given.allowedOrigins),
    room: given.room,
    maxRooms: wholeNumber('maxRooms', given.maxRooms ?? DEFAULTS.maxRooms, 1),
    maxRoomsPerIp: wholeNumber('maxRoomsPerIp', given.maxRoomsPerIp ?? DEFAULTS.maxRoomsPerIp, 1),
    identify: given.identify,
    staticFallback: given.staticFallback ?? DEFAULTS.staticFallback,
    logger,
    warnings: new Warnings(logger, checkDisabledWarnings(given.disableWarnings)),
  };
  // Warnings last: a configuration that throws gives no warnings first.
  const ignored = given.render ? DRAWING_OPTIONS.filter((name) => given[name] !== undefined) : [];
  if (ignored.length > 0) {
    configuration.warnings.warn('WRN_USER_COUNTER_IGNORED_OPTIONS', `\`render\` replaces the built-in drawing, so ${ignored.join(', ')} ${ignored.length > 1 ? 'are' : 'is'} ignored.`);
  }
  if (given.identify !== undefined && store.countsViewers !== true) {
    configuration.warnings.warn('WRN_USER_COUNTER_STORE_IGNORES_VIEWERS', '`identify` is set, but the store does not count viewers (`countsViewers`): every stream counts. MemoryCountStore and RedisCountStore do.');
  }
  if (given.store === undefined && (cluster.isWorker || process.env.NODE_APP_INSTANCE !== undefined)) {
    configuration.warnings.warn('WRN_USER_COUNTER_SINGLE_PROCESS_STORE', 'this process is one of several, and the default MemoryCountStore counts only its own viewers. Use a shared store such as RedisCountStore.');
  }
  return configuration;
}

function origins(list: unknown): Set<string> {
  if (!Array.isArray(list) || list.length === 0) {
    failInvalid(Array.isArray(list), "`allowedOrigins` must be a non-empty array of origins, for example ['https://example.com'].");
  }
  return new Set(
    list.map((entry) => {
      let origin: string | undefined;
      try {
        origin = new URL(String(entry)).origin;
      } catch {
        origin = undefined;
      }
      if (typeof entry !== 'string' || origin === undefined || origin === 'null' || origin !== entry.replace(/\/$/, '')) {
        failInvalid(typeof entry === 'string', `\`allowedOrigins\` entries are origins: scheme, host and port, no path, such as 'https://example.com'; got ${describe(entry)}${origin && origin !== 'null' ? ` (write '${origin}')` : ''}.`);
      }
      return origin;
    }),
  );
}
