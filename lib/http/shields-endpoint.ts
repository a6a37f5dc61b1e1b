import type { NextFunction, Request, Response } from 'express';
import { closest, describe, fail, failInvalid, givenOptions } from '../config/validation.js';
import { roomOrReply } from './replies.js';
import type { RequestReader } from './request-reader.js';
import type { CountStore, ShieldsOptions } from '../types/index.js';

/** The badge's settings, checked and with the defaults filled in. */
export interface ShieldsBadge extends Required<ShieldsOptions> {
  /** Where the badge's JSON is served: beside the stream's path. */
  readonly path: string;
}

const DEFAULTS: Required<ShieldsOptions> = { label: 'online', color: 'green', cacheSeconds: 300 };
const FIELDS = Object.keys(DEFAULTS);

/** The `shields` option checked (throws an OptionsError saying what to write); undefined when off. */
export function resolveShields(option: unknown, streamPath: string): ShieldsBadge | undefined {
  if (option === false) return undefined;
  const options: unknown = option === undefined || option === true ? {} : option;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    failInvalid(false, `\`shields\` must be true, false or { label, color, cacheSeconds }, for example { label: 'readers' }; got ${describe(option)}.`);
  }
  const unknown = Object.keys(options).find((name) => !FIELDS.includes(name));
  if (unknown !== undefined) {
    const near = closest(unknown, FIELDS);
    fail('ERR_USER_COUNTER_UNKNOWN_OPTION', `Unknown field \`shields.${unknown}\`;${near ? ` did you mean \`shields.${near}\`?` : ''} \`shields\` takes ${FIELDS.join(', ')}.`);
  }
  const given = givenOptions(options);
  const { label, color, cacheSeconds } = { ...DEFAULTS, ...given } as Record<string, unknown>;
  if (typeof label !== 'string') failInvalid(false, `\`shields.label\` must be a string (the badge's left side; '' for none); got ${describe(label)}.`);
  if (typeof color !== 'string' || color.trim() === '') {
    failInvalid(typeof color === 'string', `\`shields.color\` must be a shields.io colour such as 'green', 'blue' or '#4c1'; got ${describe(color)}.`);
  }
  if (typeof cacheSeconds !== 'number' || !Number.isInteger(cacheSeconds) || cacheSeconds < 0) {
    failInvalid(typeof cacheSeconds === 'number', `\`shields.cacheSeconds\` must be a whole number, 0 or more (shields.io applies at least 300); got ${describe(cacheSeconds)}.`);
  }
  const base = streamPath.endsWith('.png') ? streamPath.slice(0, -'.png'.length) : streamPath;
  return { path: `${base}.shields.json`, label, color, cacheSeconds };
}

/**
 * The count as a shields.io "endpoint" badge (https://shields.io/badges/endpoint-badge): for
 * READMEs, docs sites and chat previews, where a live stream cannot run. Not counted, no
 * Referer needed, readable from any origin.
 */
export class ShieldsEndpoint {
  constructor(
    private readonly badge: ShieldsBadge,
    private readonly store: Pick<CountStore, 'count'>,
    private readonly reader: RequestReader,
    private readonly formatCount: (count: number) => string,
  ) {}

  get path(): string {
    return this.badge.path;
  }

  handle(req: Request, res: Response, next: NextFunction): void {
    // The default room unless the `room` option names another, as for the JSON count.
    const room = roomOrReply(this.reader, req, res, next);
    if (room === undefined) return;
    const { label, color, cacheSeconds } = this.badge;
    // shields.io rejects a badge with any other field.
    const body = JSON.stringify({ schemaVersion: 1, label, message: this.formatCount(this.store.count(room)), color, cacheSeconds });
    res.writeHead(200, {
      'Content-Type': 'application/json; charset=utf-8',
      // shields.io caches by `cacheSeconds` itself; a cache in between would only make it older.
      'Cache-Control': 'no-store',
      'Access-Control-Allow-Origin': '*',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(body);
  }
}
