import { quietLogger } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import { connectStore, uniquePrefix } from '../helpers/redis-store.js';
import { useTestRedis } from '../helpers/redis-suite.js';

// The "changed" hint arrives on a second connection (`subscribe`). That connection failing is
// not Redis failing: the store's own calls go on as before, and only the hint waits.

const suite = useTestRedis();

test('a subscription that keeps failing is not an outage: each change still goes out at once, reachable stays true, one error and no outage warning', async () => {
  const prefix = uniquePrefix();
  const logger = quietLogger();
  let answered = 0;
  let failures = 0;
  const { store } = await connectStore(
    'ioredis',
    suite.redis,
    {
      prefix,
      // No heartbeat during the test: the retries come from refresh().
      heartbeatMs: 60_000,
      ttlMs: 180_000,
      logger,
      // Fails once the store's call made beside it has been answered (as a subscriber
      // connection that times out would), so the failure is the last thing the store hears.
      subscribe: async () => {
        const before = answered;
        await eventually(() => answered > before, 'a script call answered', 10_000);
        failures += 1;
        throw new Error('subscriber connection refused');
      },
    },
    async (_, send) => {
      const reply = await send();
      answered += 1;
      return reply;
    },
  );
  const errors: Error[] = [];
  store.events.on('error', (error) => errors.push(error));
  await store.init();
  for (let round = 1; round <= 3; round++) {
    await eventually(() => failures === round, `subscription failure ${round}`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.reachable).toBe(true);
    store.increment('');
    await eventually(async () => (await suite.inspector.hget(`{${prefix}}:totals`, '')) === String(round), `Redis to count ${round} at once`, 3000);
    store.refresh();
  }
  expect(errors.map((error) => error.message)).toEqual([expect.stringMatching(/subscri.*subscriber connection refused/)]);
  const outageWarnings = logger.warn.mock.calls.filter(([line]) => /REDIS_(UNREACHABLE|BACK)/.test(String(line)));
  expect(outageWarnings).toEqual([]);
});
