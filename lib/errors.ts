/** A misconfiguration found when the middleware or a store is created; the message says what to write instead. */
export class OptionsError extends TypeError {
  readonly code = 'ERR_USER_COUNTER_OPTIONS';
}

/** Throw an OptionsError with the package's prefix. */
export function failOptions(message: string): never {
  throw new OptionsError(`express-user-counter: ${message}`);
}

/** A value as an error message quotes it. */
export function describeValue(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : typeof value === 'function' ? 'a function' : String(value);
}
