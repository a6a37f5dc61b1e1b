// The middleware factory: app.use(userCounterMiddleware(options)).
export { userCounterMiddleware } from './middleware.js';
export type { UserCounterRouter } from './middleware.js';
// The default store: this process's viewers only.
export { MemoryCountStore } from './memory-count-store.js';
// One count across processes and hosts, through Redis with the user's own client (ioredis, node-redis).
export { RedisCountStore } from './redis-count-store.js';
export type { RedisCountStoreOptions, RedisSendCommand, RedisSubscribe, RedisUnsubscribe } from './redis-count-store-options.js';
// Thrown by the factory for a misconfiguration; `code` is 'ERR_USER_COUNTER_OPTIONS'.
export { OptionsError } from './errors.js';
// The User-Agents answered with one PNG instead of a stream (staticFallback: true), to build on.
export { STATIC_USER_AGENTS } from './static-fallback.js';
// What counter.stats() returns.
export type { CounterStats } from './counter-stats.js';
// The contracts: options, the store interface, the handle and its events.
export type {
  CountStore,
  CountStoreEvents,
  Logger,
  NodeCanvasModule,
  Options,
  RenderContext,
  RenderFunction,
  RoomCounts,
  ShieldsOptions,
  UserCounter,
  UserCounterEvents,
} from './types.js';
