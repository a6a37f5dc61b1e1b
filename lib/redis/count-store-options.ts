import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisCountStoreOptions, RedisSendCommand, RedisSubscribe } from '../types/index.js';
import { checkKnownNames, checkLogger, describe, fail, failInvalid, givenOptions, wholeNumber } from '../config/validation.js';
import { checkDisabledWarnings, Warnings } from '../config/warnings.js';

/** The options of a RedisCountStore, checked and with every default filled in. */
interface RedisStoreConfiguration {
  readonly sendCommand: RedisSendCommand;
  readonly subscribe: RedisSubscribe | undefined;
  readonly prefix: string;
  readonly heartbeatMs: number;
  readonly ttlMs: number;
  readonly instanceId: string;
  /** Writes the store's warnings, except those `disableWarnings` turns off. */
  readonly warnings: Warnings;
}

const DEFAULTS = { prefix: 'user-counter', heartbeatMs: 5000, ttlMs: 15_000 } as const;

const OPTION_NAMES: readonly (keyof RedisCountStoreOptions)[] = [
  'sendCommand', 'subscribe', 'prefix', 'heartbeatMs', 'ttlMs', 'instanceId', 'logger', 'disableWarnings',
];

/** Check the options of `new RedisCountStore(...)` and fill in the defaults; throws an `OptionsError` saying what to write instead. */
export function resolveRedisStoreOptions(options: RedisCountStoreOptions): RedisStoreConfiguration {
  if (typeof options !== 'object' || options === null) {
    failInvalid(false, 'new RedisCountStore(options) needs an object with at least `sendCommand`, for example { sendCommand: (...args) => client.call(...args) } (ioredis).');
  }
  const given = givenOptions(options);
  checkKnownNames(Object.keys(given), OPTION_NAMES);
  if (typeof given.sendCommand !== 'function') {
    fail(
      given.sendCommand === undefined ? 'ERR_USER_COUNTER_MISSING_OPTION' : 'ERR_USER_COUNTER_INVALID_OPTION_TYPE',
      '`sendCommand` must be a function that sends one command, for example (...args) => client.call(...args) with ioredis or (...args) => client.sendCommand(args) with node-redis.',
    );
  }
  if (given.subscribe !== undefined && typeof given.subscribe !== 'function') {
    failInvalid(false, '`subscribe` must be a function (channel, onMessage) => unsubscribe, using a second connection (client.duplicate()).');
  }
  if (given.prefix !== undefined && (typeof given.prefix !== 'string' || given.prefix === '' || /[{}]/.test(given.prefix))) {
    failInvalid(
      typeof given.prefix === 'string',
      `\`prefix\` must be a non-empty string without braces (the store wraps it in a hash tag itself), such as '${DEFAULTS.prefix}'; got ${describe(given.prefix)}.`,
    );
  }
  if (given.instanceId !== undefined && (typeof given.instanceId !== 'string' || given.instanceId === '')) {
    failInvalid(typeof given.instanceId === 'string', `\`instanceId\` must be a non-empty string, unique per process; got ${describe(given.instanceId)}.`);
  }
  // Node's timers take at most 2^31 - 1 ms.
  const heartbeatMs = wholeNumber('heartbeatMs', given.heartbeatMs ?? DEFAULTS.heartbeatMs, 1, 2 ** 31 - 1, 'milliseconds');
  const ttlMs = wholeNumber('ttlMs', given.ttlMs ?? DEFAULTS.ttlMs, 1, 2 ** 31 - 1, 'milliseconds');
  if (ttlMs <= heartbeatMs) {
    fail(
      'ERR_USER_COUNTER_CONFLICTING_OPTIONS',
      `\`ttlMs\` (${ttlMs}) must be more than \`heartbeatMs\` (${heartbeatMs}), or live instances are dropped between heartbeats; three heartbeats is a good TTL (${heartbeatMs * 3}).`,
    );
  }
  if (given.logger !== undefined) checkLogger(given.logger);
  return {
    sendCommand: given.sendCommand,
    subscribe: given.subscribe,
    prefix: given.prefix ?? DEFAULTS.prefix,
    heartbeatMs,
    ttlMs,
    instanceId: given.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    warnings: new Warnings(given.logger ?? console, checkDisabledWarnings(given.disableWarnings)),
  };
}
