import { describeValue as describe, failOptions as fail } from './errors.js';
import type { Logger } from './types.js';

/**
 * Sends one Redis command, `('EVALSHA', sha, '2', key, ...)`, and resolves with the reply.
 * ioredis: `(...args) => client.call(...args)`; node-redis: `(...args) => client.sendCommand(args)`.
 */
export type RedisSendCommand = (...args: string[]) => Promise<unknown>;

/** Stops a subscription made by a `RedisSubscribe` function. */
export type RedisUnsubscribe = () => unknown;

/**
 * Subscribes to `channel` on a connection kept for pub/sub (a `duplicate()` of the client)
 * and calls `onMessage` with each message; may return a function that unsubscribes.
 */
export type RedisSubscribe = (
  channel: string,
  onMessage: (message: string) => void,
) => Promise<RedisUnsubscribe | void> | RedisUnsubscribe | void;

/** The options of `RedisCountStore`. Only `sendCommand` is required. */
export interface RedisCountStoreOptions {
  /** Sends a command on your client. Every call is one `EVALSHA` (or `EVAL`) of the store's script. */
  sendCommand: RedisSendCommand;
  /**
   * Subscribes on a second connection to the "changed" hint, so another instance's viewer shows
   * here within a round trip. Without it, other instances' changes show at the next heartbeat.
   * Default: none.
   */
  subscribe?: RedisSubscribe;
  /** Every key starts with `{prefix}:` (one hash tag: every key in one Redis Cluster slot). Default `'user-counter'`. */
  prefix?: string;
  /** Rewrite this instance's counts, re-read the totals of its rooms and check a third of them this often, in ms. Default `5000`. */
  heartbeatMs?: number;
  /** An instance not heard from for this long (Redis's clock) is dropped from the total, in ms; more than `heartbeatMs`. Default `15000`. */
  ttlMs?: number;
  /** This instance's name in Redis; unique per process (two processes given one are told, with a warning). Default: host name, pid and random hex. */
  instanceId?: string;
  /** Where the store's warnings go (Redis unreachable, back again). Default `console`. */
  logger?: Logger;
}

const OPTION_NAMES: readonly (keyof RedisCountStoreOptions)[] = [
  'sendCommand', 'subscribe', 'prefix', 'heartbeatMs', 'ttlMs', 'instanceId', 'logger',
];

/** Check the options of `new RedisCountStore(...)`; throws an `OptionsError` saying what to write instead. */
export function checkRedisStoreOptions(options: RedisCountStoreOptions): RedisCountStoreOptions {
  if (typeof options !== 'object' || options === null) {
    fail('new RedisCountStore(options) needs an object with at least `sendCommand`, for example { sendCommand: (...args) => client.call(...args) } (ioredis).');
  }
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as RedisCountStoreOptions;
  for (const name of Object.keys(given)) {
    if (!(OPTION_NAMES as string[]).includes(name)) fail(`Unknown option \`${name}\`. Known options: ${OPTION_NAMES.join(', ')}.`);
  }
  if (typeof given.sendCommand !== 'function') {
    fail('`sendCommand` must be a function that sends one command, for example (...args) => client.call(...args) with ioredis or (...args) => client.sendCommand(args) with node-redis.');
  }
  if (given.subscribe !== undefined && typeof given.subscribe !== 'function') {
    fail('`subscribe` must be a function (channel, onMessage) => unsubscribe, using a second connection (client.duplicate()).');
  }
  if (given.prefix !== undefined && (typeof given.prefix !== 'string' || given.prefix === '' || /[{}]/.test(given.prefix))) {
    fail(`\`prefix\` must be a non-empty string without braces (the store wraps it in a hash tag itself), such as 'user-counter'; got ${describe(given.prefix)}.`);
  }
  if (given.instanceId !== undefined && (typeof given.instanceId !== 'string' || given.instanceId === '')) {
    fail(`\`instanceId\` must be a non-empty string, unique per process; got ${describe(given.instanceId)}.`);
  }
  for (const name of ['heartbeatMs', 'ttlMs'] as const) {
    const value = given[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1)) {
      fail(`\`${name}\` must be a whole number of milliseconds, 1 or more; got ${describe(value)}.`);
    }
  }
  const heartbeatMs = given.heartbeatMs ?? 5000;
  const ttlMs = given.ttlMs ?? 15_000;
  if (ttlMs <= heartbeatMs) {
    fail(`\`ttlMs\` (${ttlMs}) must be more than \`heartbeatMs\` (${heartbeatMs}), or live instances are dropped between heartbeats; three heartbeats is a good TTL (${heartbeatMs * 3}).`);
  }
  if (given.logger !== undefined && (typeof given.logger?.warn !== 'function' || typeof given.logger.error !== 'function')) {
    fail('`logger` must have `warn(message)` and `error(message)` methods, for example `console`.');
  }
  return given;
}
