/** A misconfiguration found when the middleware is created; the message says what to write instead. */
export class OptionsError extends TypeError {
  readonly code = 'ERR_USER_COUNTER_OPTIONS';
}
