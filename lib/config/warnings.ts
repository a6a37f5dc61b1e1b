import { WARNING_CODES } from '../types/codes.js';
import type { WarningCode } from '../types/codes.js';
import type { DisabledWarnings, Logger } from '../types/index.js';
import { closest, describe, failInvalid } from './validation.js';

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
