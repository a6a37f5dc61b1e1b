// The ES module entry re-exports the CommonJS build: one copy of the code, so an app that
// loads the package both ways still has one of everything (no dual-package hazard).
export {
  userCounterMiddleware,
  MemoryCountStore,
  RedisCountStore,
  OptionsError,
  STATIC_USER_AGENTS,
} from './index.js';
export type * from './index.js';
