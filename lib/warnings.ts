import type { DisabledWarnings, Logger } from './types/index.js';
import { closest, describe, failInvalid } from './validation.js';

/**
 * Every warning the package writes, by code. A warning is a line on the logger's `warn`,
 * starting `express-user-counter [CODE]:`; `disableWarnings` (on the middleware and on
 * `RedisCountStore`) turns codes off, or all of them with `true`.
 */
export const WARNING_CODES = [
  // `render` is given with drawing options it replaces (`text`, `font`, `color`, ...).
  'WRN_USER_COUNTER_IGNORED_OPTIONS',
  // `identify` is set, but the store does not count viewers (`countsViewers`).
  'WRN_USER_COUNTER_STORE_IGNORES_VIEWERS',
  // A cluster worker (or PM2 instance) uses the default MemoryCountStore.
  'WRN_USER_COUNTER_SINGLE_PROCESS_STORE',
  // `identify` returned something other than a string or undefined.
  'WRN_USER_COUNTER_IDENTIFY_NOT_STRING',
  // `vanishTimeoutMs` cannot be applied here (no such socket option, or koffi cannot load).
  'WRN_USER_COUNTER_NO_VANISH_TIMEOUT',
  // The per-address cap was reached by requests with X-Forwarded-For while 'trust proxy' is off.
  'WRN_USER_COUNTER_TRUST_PROXY',
  // RedisCountStore cannot reach Redis (once per outage).
  'WRN_USER_COUNTER_REDIS_UNREACHABLE',
  // RedisCountStore reaches Redis again after an outage (once per outage).
  'WRN_USER_COUNTER_REDIS_BACK',
  // Another process writes to Redis under this store's `instanceId`.
  'WRN_USER_COUNTER_DUPLICATE_INSTANCE',
] as const;

/** The code of one of the package's warnings. */
export type WarningCode = (typeof WARNING_CODES)[number];

/** The `disableWarnings` option checked: throws an `OptionsError` for anything but a boolean or known codes. */
export function checkDisabledWarnings(value: unknown): DisabledWarnings {
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (!Array.isArray(value)) {
    failInvalid(false, `\`disableWarnings\` must be true, false or an array of warning codes such as ['WRN_USER_COUNTER_TRUST_PROXY']; got ${describe(value)}.`);
  }
  for (const code of value) {
    if (!(WARNING_CODES as readonly unknown[]).includes(code)) {
      const near = typeof code === 'string' ? closest(code, WARNING_CODES) : undefined;
      failInvalid(
        typeof code === 'string',
        `\`disableWarnings\` has ${describe(code)}, not a warning code.${near ? ` Did you mean '${near}'?` : ''} Known codes: ${WARNING_CODES.join(', ')}.`,
      );
    }
  }
  return value as WarningCode[];
}

/**
 * Writes the warnings of one counter (or one store): each at most once, unless it
 * marks an episode (`repeat`, such as each Redis outage), and none that is switched off.
 */
export class Warnings {
  private readonly written = new Set<WarningCode>();
  private readonly off: ReadonlySet<WarningCode> | true;

  constructor(
    private readonly logger: Logger,
    disabled: DisabledWarnings = false,
  ) {
    this.off = disabled === true ? true : new Set(disabled === false ? [] : disabled);
  }

  /** Write `message` under `code`, the first time only (every time with `repeat`). */
  warn(code: WarningCode, message: string, { repeat = false } = {}): void {
    if (this.off === true || this.off.has(code)) return;
    if (!repeat && this.written.has(code)) return;
    this.written.add(code);
    this.logger.warn(`express-user-counter [${code}]: ${message}`);
  }
}
