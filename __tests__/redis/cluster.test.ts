import IORedis from 'ioredis';
import type { Cluster } from 'ioredis';
import { RedisCountStore } from '../../lib/index.js';
import { quietLogger } from '../helpers/counter-app.js';
import { eventually, sleep } from '../helpers/time.js';
import { startTestRedisCluster } from '../helpers/redis-cluster.js';
import type { TestRedisCluster } from '../helpers/redis-cluster.js';
import { uniquePrefix } from '../helpers/redis-store.js';

// A real three-master Redis Cluster, reached through ioredis's Cluster client.

let cluster: TestRedisCluster;
const clients: Cluster[] = [];
const stores: RedisCountStore[] = [];
beforeAll(async () => {
  cluster = await startTestRedisCluster();
}, 60_000);
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  for (const client of clients.splice(0)) client.disconnect();
});
afterAll(() => cluster?.close());

function clusterStore(prefix: string, instanceId: string): RedisCountStore {
  const client = new IORedis.Cluster(cluster.nodes);
  const subscriber = new IORedis.Cluster(cluster.nodes);
  clients.push(client, subscriber);
  const store = new RedisCountStore({
    prefix,
    instanceId,
    heartbeatMs: 300,
    ttlMs: 1200,
    logger: quietLogger(),
    sendCommand: (...args) => client.call(...(args as [string, ...string[]])),
    subscribe: async (channel, onMessage) => {
      subscriber.on('message', (from: string, message: string) => from === channel && onMessage(message));
      await subscriber.subscribe(channel);
    },
  });
  stores.push(store);
  return store;
}

test('stores on a three-master cluster share counts and viewers, every key in the one slot of {prefix}', async () => {
  const prefix = uniquePrefix();
  const a = clusterStore(prefix, 'alpha');
  const b = clusterStore(prefix, 'beta');
  await Promise.all([a.init(), b.init()]);
  a.increment('/p', 'x');
  a.increment('/p');
  b.increment('/p', 'x');
  b.increment('/q', 'y');
  const both = (p: number, q: number) => [a, b].every((store) => store.count('/p') === p && store.count('/q') === q && store.count() === p + q);
  await eventually(() => both(2, 1), 'both stores at /p=2, /q=1');
  a.decrement('/p', 'x');
  // b still holds x.
  await sleep(200);
  await eventually(() => both(2, 1), 'both still at /p=2 while b holds x');
  b.decrement('/p', 'x');
  await eventually(() => both(1, 1), 'both stores at /p=1, /q=1');

  // Every key sits on the master that owns the slot of {prefix}.
  const inspector = new IORedis.Cluster(cluster.nodes);
  clients.push(inspector);
  const slot = Number(await inspector.call('CLUSTER', 'KEYSLOT', `{${prefix}}`));
  const keys: string[] = [];
  for (const node of inspector.nodes('master')) keys.push(...(await node.keys(`{${prefix}}*`)));
  expect(keys.length).toBeGreaterThan(4);
  for (const key of keys) expect(Number(await inspector.call('CLUSTER', 'KEYSLOT', key))).toBe(slot);
});

test('close() on a cluster store takes its viewers out of the other store at once', async () => {
  const prefix = uniquePrefix();
  const a = clusterStore(prefix, 'alpha');
  const b = clusterStore(prefix, 'beta');
  await Promise.all([a.init(), b.init()]);
  a.increment('/p', 'x');
  b.increment('/p', 'y');
  await eventually(() => b.count('/p') === 2 && a.count('/p') === 2, 'both at 2');
  await a.close();
  await eventually(() => b.count('/p') === 1, 'b back to its own viewer');
});
