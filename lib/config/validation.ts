import type { ErrorCode } from '../types/codes.js';

/**
 * A misconfiguration found when the middleware or a store is created; the message says what
 * to write instead, `code` says which kind (one of `ERROR_CODES`, lib/types/codes.ts).
 */
export class OptionsError extends TypeError {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Throw an OptionsError with the package's prefix. */
export function fail(code: ErrorCode, message: string): never {
  throw new OptionsError(code, `express-user-counter: ${message}`);
}

/** Throw for a value that is not what an option takes: of the right type (`rightType`) or not. */
export function failInvalid(rightType: boolean, message: string): never {
  fail(rightType ? 'ERR_USER_COUNTER_INVALID_OPTION_VALUE' : 'ERR_USER_COUNTER_INVALID_OPTION_TYPE', message);
}

/** A value as an error message quotes it. */
export function describe(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : typeof value === 'function' ? 'a function' : String(value);
}

/** `value` when it is a whole number from `min` to `max`; otherwise throws naming `name`. */
export function wholeNumber(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER, unit = ''): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    // A bound past any timer a user would write goes unsaid.
    const range = max >= 2 ** 31 - 1 ? `${min} or more` : `from ${min} to ${max}`;
    failInvalid(typeof value === 'number', `\`${name}\` must be a whole number${unit ? ` of ${unit}` : ''}, ${range}; got ${describe(value)}.`);
  }
  return value;
}

/** Throws for the first of `names` not in `known`, suggesting the nearest known one. */
export function checkKnownNames(names: readonly string[], known: readonly string[]): void {
  const unknown = names.find((name) => !known.includes(name));
  if (unknown === undefined) return;
  const near = closest(unknown, known);
  fail('ERR_USER_COUNTER_UNKNOWN_OPTION', `Unknown option \`${unknown}\`.${near ? ` Did you mean \`${near}\`?` : ''} Known options: ${known.join(', ')}.`);
}

/** Throws unless `logger` has `warn` and `error` methods. */
export function checkLogger(logger: unknown): void {
  const methods = logger as { warn?: unknown; error?: unknown } | null | undefined;
  if (typeof methods?.warn !== 'function' || typeof methods.error !== 'function') {
    failInvalid(false, '`logger` must have `warn(message)` and `error(message)` methods, for example `console`.');
  }
}

/** The options given, without those set to `undefined` ("not given"). */
export function givenOptions<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as T;
}

/** The known name within two edits of `name`, if any. */
export function closest(name: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of names) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}
