// Every public type of the package, in one place; lib/index.ts exports them all.
// The options of userCounterMiddleware, and what they take.
export type {
  DisabledWarnings,
  Logger,
  NodeCanvasModule,
  Options,
  RenderContext,
  RenderFunction,
  ShieldsOptions,
} from './options.js';
// The store contract: MemoryCountStore, RedisCountStore, or your own.
export type { CountStore, CountStoreEvents } from './store.js';
// The router the factory returns, its counter handle, the handle's events and stats().
export type { CounterStats, PageCounter, RoomCounts, UserCounter, UserCounterEvents, UserCounterRouter } from './counter.js';
// RedisCountStore's options and the client functions it takes.
export type { RedisCountStoreOptions, RedisSendCommand, RedisSubscribe, RedisUnsubscribe } from './redis.js';
// The codes of OptionsError and of the warnings, from their catalogue.
export type { ErrorCode, WarningCode } from './codes.js';
