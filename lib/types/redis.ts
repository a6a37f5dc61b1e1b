import type { DisabledWarnings, Logger } from './options.js';

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
  /**
   * Warnings to leave out: `true` for all, or their codes (`['WRN_USER_COUNTER_REDIS_BACK']`).
   * Default `false`.
   */
  disableWarnings?: DisabledWarnings;
}
