// The middleware factory: app.use(userCounterMiddleware(options)).
export { userCounterMiddleware } from './middleware.js';
// The default store: this process's viewers only.
export { MemoryCountStore } from './counting/memory-count-store.js';
// One count across processes and hosts, through Redis with the user's own client (ioredis, node-redis).
export { RedisCountStore } from './redis/redis-count-store.js';
// Thrown by the factory and the stores for a misconfiguration; `code` says which kind (ErrorCode).
export { OptionsError } from './config/validation.js';
// The User-Agents answered with one PNG instead of a stream (staticFallback: true), to build on.
export { STATIC_USER_AGENTS } from './http/request-reader.js';
// Every public type: options, the store contract, the counter handle, its events and stats, the codes.
export type * from './types/index.js';
