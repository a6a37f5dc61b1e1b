// The catalogue of the package's error and warning codes: the types users see (`ErrorCode`,
// `WarningCode`) come from these lists, which lib/config/validation.ts and lib/config/warnings.ts use.

/**
 * Every error thrown for a misconfiguration, by code (`error.code`), found when the middleware
 * or a store is created. The message says what to write instead.
 */
export const ERROR_CODES = [
  // An option (or `shields` field) that does not exist; the message suggests the nearest known name.
  'ERR_USER_COUNTER_UNKNOWN_OPTION',
  // The options, or one option, of the wrong type: a string where a function belongs, null for an object.
  'ERR_USER_COUNTER_INVALID_OPTION_TYPE',
  // The right type but a value the option cannot take: out of range, a path with a query, a colour the canvas rejects.
  'ERR_USER_COUNTER_INVALID_OPTION_VALUE',
  // A required option is not given (`sendCommand` of RedisCountStore).
  'ERR_USER_COUNTER_MISSING_OPTION',
  // Options that cannot go together (RedisCountStore's `ttlMs` not above its `heartbeatMs`).
  'ERR_USER_COUNTER_CONFLICTING_OPTIONS',
] as const;

/** The code of an `OptionsError`. */
export type ErrorCode = (typeof ERROR_CODES)[number];

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
