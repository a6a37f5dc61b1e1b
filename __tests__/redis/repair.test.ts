import { quietLogger } from '../helpers/counter-app.js';
import { eventually, sleep } from '../helpers/time.js';
import { connectStore, scriptCalls, uniquePrefix } from '../helpers/redis-store.js';
import { useTestRedis } from '../helpers/redis-suite.js';
import type { ConnectedStore } from '../helpers/redis-store.js';

// Whatever Redis loses or garbles, the counts come back by themselves within a bounded time.

const suite = useTestRedis();

const heartbeatMs = 200;
const ttlMs = 800;
/** The promise: ttlMs plus three heartbeats, with slack for a shared machine. */
const REPAIR_MS = ttlMs + 4 * heartbeatMs + 3000;

/** alpha: /p x, y and 2 without a viewer; beta: /p y, z and /q 1 without: /p = 5, /q = 1. */
async function scene(): Promise<{ prefix: string; a: ConnectedStore; b: ConnectedStore; key: (name: string) => string }> {
  const prefix = uniquePrefix();
  const a = await connectStore('ioredis', suite.redis, { prefix, instanceId: 'alpha', heartbeatMs, ttlMs });
  const b = await connectStore('node-redis', suite.redis, { prefix, instanceId: 'beta', heartbeatMs, ttlMs });
  await Promise.all([a.store.init(), b.store.init()]);
  a.store.increment('/p', 'x');
  a.store.increment('/p', 'y');
  a.store.increment('/p');
  a.store.increment('/p');
  b.store.increment('/p', 'y');
  b.store.increment('/p', 'z');
  b.store.increment('/q');
  await atTruth(a, b, 'before');
  return { prefix, a, b, key: (name) => `{${prefix}}:${name}` };
}

async function atTruth(a: ConnectedStore, b: ConnectedStore, what: string, timeoutMs = 5000): Promise<void> {
  await eventually(
    () => [a.store, b.store].every((store) => store.count('/p') === 5 && store.count('/q') === 1 && store.count() === 6),
    `${what}: both stores at /p=5, /q=1, total 6`,
    timeoutMs,
  );
  const prefix = a.store.prefix;
  const deadline = Date.now() + timeoutMs;
  const redisTruth = async () => {
    const totals = await suite.inspector.hgetall(`{${prefix}}:totals`);
    return totals['/p'] === '5' && totals['/q'] === '1' && (await suite.inspector.hget(`{${prefix}}:meta`, 'sum')) === '6';
  };
  while (!(await redisTruth())) {
    if (Date.now() > deadline) throw new Error(`${what}: Redis's totals are ${JSON.stringify(await suite.inspector.hgetall(`{${prefix}}:totals`))}`);
    await sleep(20);
  }
}

type Key = (name: string) => string;
const members = async (key: string) => (await suite.inspector.smembers(key)).sort().join(' ');

test.each<[string, (key: Key) => Promise<unknown>, (key: Key) => Promise<boolean>]>([
  ["an instance's viewer set deleted (eviction)", (key) => suite.inspector.del(key('viewers:alpha')), async (key) => (await members(key('viewers:alpha'))) === '1:x/p 1:y/p'],
  ["an instance's viewer set given a stranger", (key) => suite.inspector.sadd(key('viewers:beta'), '1:w/p'), async (key) => (await members(key('viewers:beta'))) === '1:y/p 1:z/p'],
  ["an instance's counts deleted", (key) => suite.inspector.del(key('instance:alpha')), async (key) => (await suite.inspector.hget(key('instance:alpha'), '/p')) === '2'],
  ["a room's record deleted", (key) => suite.inspector.del(key('room:/p')), async (key) => (await suite.inspector.hget(key('room:/p'), 'ry')) === '2'],
  ["a viewer's holder count corrupted", (key) => suite.inspector.hset(key('room:/p'), 'ry', '7'), async (key) => (await suite.inspector.hget(key('room:/p'), 'ry')) === '2'],
  [
    'a dead holder planted in a room',
    (key) => suite.inspector.hset(key('room:/p'), 'h5:ghostv', '1', 'rv', '1', 'aghost', '4'),
    async (key) => (await suite.inspector.hmget(key('room:/p'), 'h5:ghostv', 'rv', 'aghost')).every((value) => value === null),
  ],
  ['a room total corrupted', (key) => suite.inspector.hset(key('totals'), '/p', '999'), async () => true],
  ['the totals and the sum deleted', (key) => suite.inspector.del(key('totals'), key('meta')), async () => true],
  ['the sum corrupted', (key) => suite.inspector.hset(key('meta'), 'sum', '-40'), async () => true],
  ['the set of live instances deleted', (key) => suite.inspector.del(key('instances')), async (key) => (await suite.inspector.zcard(key('instances'))) === 2],
  [
    'every key deleted (a failover to an empty replica)',
    async (key) => suite.inspector.del(...(await suite.inspector.keys(key('*')))),
    async (key) => (await members(key('viewers:alpha'))) === '1:x/p 1:y/p' && (await suite.inspector.hget(key('room:/p'), 'ry')) === '2',
  ],
])("%s: the record, the counts and Redis's totals repair themselves within ttlMs plus three heartbeats", async (_, corrupt, repaired) => {
  const { a, b, key } = await scene();
  await corrupt(key);
  const deadline = Date.now() + REPAIR_MS;
  while (!(await repaired(key))) {
    if (Date.now() > deadline) throw new Error(`not repaired within ${REPAIR_MS} ms`);
    await sleep(20);
  }
  await atTruth(a, b, 'after the damage', REPAIR_MS);
  // And they stay right through further changes.
  a.store.decrement('/p', 'x');
  b.store.increment('/q', 'x');
  await eventually(
    () => [a.store, b.store].every((store) => store.count('/p') === 4 && store.count('/q') === 2 && store.count() === 6),
    'both stores at /p=4, /q=2 after more changes',
  );
});

test('while a call is unanswered (a hung connection), no further call is sent; the store goes on once it is answered', async () => {
  const prefix = uniquePrefix();
  let hang: Promise<void> | undefined;
  let release: (() => void) | undefined;
  const logger = quietLogger();
  const a = await connectStore('ioredis', suite.redis, { prefix, heartbeatMs: 100, ttlMs: 400, logger }, async (_, send) => {
    if (hang) await hang;
    return send();
  });
  const b = await connectStore('ioredis', suite.redis, { prefix, heartbeatMs: 100, ttlMs: 400 });
  await Promise.all([a.store.init(), b.store.init()]);
  hang = new Promise((resolve) => (release = resolve));
  const before = scriptCalls(a.commands);
  for (let i = 0; i < 20; i++) a.store.increment('/p');
  // Ten heartbeats and twenty changes: one call is waiting, and nothing more is sent.
  await eventually(() => logger.warn.mock.calls.length === 1, 'the store to warn that Redis does not answer');
  await sleep(1000);
  expect(scriptCalls(a.commands) - before).toBe(1);
  expect(a.store.count('/p')).toBe(20);
  hang = undefined;
  release!();
  await eventually(() => b.store.count('/p') === 20, 'the other store to see the 20 once the call is answered');
});

test('two processes given the same instanceId are told (a nonce per process), with a warning', async () => {
  const prefix = uniquePrefix();
  const loggers = [quietLogger(), quietLogger()];
  const [a, b] = await Promise.all(
    loggers.map((logger) => connectStore('ioredis', suite.redis, { prefix, instanceId: 'same', heartbeatMs: 100, ttlMs: 400, logger })),
  );
  await Promise.all([a.store.init(), b.store.init()]);
  a.store.increment('/p');
  b.store.increment('/p');
  const warned = () => loggers.flatMap((logger) => logger.warn.mock.calls).filter(([message]) => /another process writes to Redis as instanceId "same"/.test(String(message)));
  await eventually(() => warned().length >= 1, 'a warning about the shared instanceId');
});
