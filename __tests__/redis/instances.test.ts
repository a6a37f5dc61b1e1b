import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { startTestRedis } from '../helpers/redis-server.js';
import { connectStore, scriptCalls, uniquePrefix } from '../helpers/redis-store.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { openViewers } from '../helpers/viewer.js';
import type { Viewer } from '../helpers/viewer.js';
import { showsCount } from '../../support/png.js';

// Several app instances sharing one Redis, as behind a load balancer.

let redis: TestRedis;
const children: ChildProcess[] = [];
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.close());
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** Every handle counts `n`, and every viewer's latest frame shows `n`. */
async function allShow(apps: CounterApp[], watchers: Viewer[], n: number, timeoutMs = 5000): Promise<void> {
  await eventually(() => apps.every((app) => app.counter.count === n), `every instance to count ${n}`, timeoutMs);
  await Promise.all(watchers.map((viewer) => viewer.waitForLastFrame((png) => showsCount(png, n), `a frame showing ${n}`, timeoutMs)));
}

test('two app instances (ioredis and node-redis) agree, in handles and in frames, as viewers come and go on both', async () => {
  const prefix = uniquePrefix();
  const a = await startCounterApp({ store: (await connectStore('ioredis', redis, { prefix })).store });
  const b = await startCounterApp({ store: (await connectStore('node-redis', redis, { prefix })).store });

  const onA = await openViewers(a.url, 3);
  await allShow([a, b], onA, 3);
  const onB = await openViewers(b.url, 2);
  await allShow([a, b], [...onA, ...onB], 5);

  onA[0].close();
  onA[1].close();
  await allShow([a, b], [onA[2], ...onB], 3);
  onB[0].close();
  const more = await openViewers(a.url, 4);
  await allShow([a, b], [onA[2], onB[1], ...more], 6);

  for (const viewer of [onA[2], onB[1], ...more]) viewer.close();
  await eventually(() => a.counter.count === 0 && b.counter.count === 0, 'both instances back at 0');
});

test('100 viewers joining at once cost script calls bounded by time, not by viewers', async () => {
  const prefix = uniquePrefix();
  const a = await connectStore('ioredis', redis, { prefix, heartbeatMs: 60_000, ttlMs: 180_000 });
  const b = await connectStore('ioredis', redis, { prefix, heartbeatMs: 60_000, ttlMs: 180_000 });
  const appA = await startCounterApp({ store: a.store });
  const appB = await startCounterApp({ store: b.store });
  await eventually(() => a.commands.length > 0 && b.commands.length > 0, 'both instances to start');
  const [beforeA, beforeB] = [scriptCalls(a.commands), scriptCalls(b.commands)];
  const started = Date.now();
  const watchers = await openViewers(appA.url, 100);
  await allShow([appA, appB], [watchers[0]], 100, 15_000);
  const elapsed = Date.now() - started;
  // At most one call per 50 ms of joining, plus the trailing one: never one per viewer.
  const bound = Math.min(50, Math.ceil(elapsed / 50) + 3);
  expect(scriptCalls(a.commands) - beforeA).toBeLessThanOrEqual(bound);
  expect(scriptCalls(b.commands) - beforeB).toBeLessThanOrEqual(bound);
});

test('an instance in another process SIGKILLed while holding 50 viewers: the survivor drops them within TTL + one heartbeat', async () => {
  const prefix = uniquePrefix();
  const heartbeatMs = 250;
  const ttlMs = 1000;
  const survivor = await startCounterApp({ store: (await connectStore('node-redis', redis, { prefix, heartbeatMs, ttlMs })).store });
  const [watcher] = await openViewers(survivor.url, 1);

  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'fixtures', 'redis-instance.ts')], {
    env: { ...process.env, REDIS_URL: redis.url, PREFIX: prefix, HEARTBEAT_MS: String(heartbeatMs), TTL_MS: String(ttlMs) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const { url } = await readFirstLine(child);
  const held = await openViewers(url, 50);
  await allShow([survivor], [watcher], 51, 15_000);

  const killedAt = Date.now();
  child.kill('SIGKILL');
  await eventually(() => survivor.counter.count === 1, 'the survivor back at its own 1', ttlMs + heartbeatMs + 5000);
  const tookMs = Date.now() - killedAt;
  await watcher.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
  // Liveness is the TTL: the count cannot drop before the child's last write is a TTL old.
  expect(tookMs).toBeGreaterThanOrEqual(ttlMs - heartbeatMs - 100);
  expect(held.every((viewer) => viewer.frames.length > 0)).toBe(true);
});

/** The fixture prints one JSON line once it listens. */
function readFirstLine(child: ChildProcess): Promise<{ url: string; instanceId: string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`the child instance did not start: ${err}`)), 20_000);
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the child instance exited with ${code}: ${err}`));
    });
  });
}
