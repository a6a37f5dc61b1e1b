import IORedis from 'ioredis';
import { startTestRedis } from './redis-server.js';
import type { TestRedis } from './redis-server.js';

/**
 * A Redis of the test file's own (started in `beforeAll`, stopped in `afterAll`) and a client
 * to look inside it. (Stores a test connected are closed after it: redis-store.ts.)
 */
export function useTestRedis(): { readonly redis: TestRedis; readonly inspector: IORedis } {
  let redis: TestRedis | undefined;
  let inspector: IORedis | undefined;
  beforeAll(async () => {
    redis = await startTestRedis();
    inspector = new IORedis(redis.url);
  });
  afterAll(async () => {
    inspector?.disconnect();
    await redis?.close();
  });
  return {
    get redis() {
      if (!redis) throw new Error('The test Redis did not start (see the beforeAll error above).');
      return redis;
    },
    get inspector() {
      if (!inspector) throw new Error('The test Redis did not start (see the beforeAll error above).');
      return inspector;
    },
  };
}
