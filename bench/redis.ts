// npm run bench:redis: what RedisCountStore costs one Redis, and how soon a change is seen.
// Many stores in this process, each with its own instanceId and its own ioredis connections,
// on a redis-server of our own; rooms are shared (every instance shows /page-0..n, 5 streams each).
// Printed per size: Redis CPU (cores, from INFO cpu), script calls per second and µs per call
// (INFO commandstats), and the time until a join on one instance is seen on every other.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import IORedis from 'ioredis';
import { RedisCountStore } from '../lib/redis/redis-count-store.js';
import { freePort } from '../support/free-port.js';

const SIZES: [number, number][] = (process.env.SIZES ?? '4x200,24x200,64x200,4x2000,24x2000,64x2000')
  .split(',')
  .map((size) => size.split('x').map(Number) as [number, number]);
const SECONDS = Number(process.env.SECONDS ?? 10);
const CHANGES_PER_SECOND = 20;
const STREAMS_PER_ROOM = 5;
const quiet = { warn: () => undefined, error: () => undefined };

function info(text: string, field: string): number {
  return Number(new RegExp(`${field}[:=]([0-9.]+)`).exec(text)?.[1] ?? 0);
}

async function measure(url: string, admin: IORedis, instances: number, rooms: number) {
  const connections: IORedis[] = [];
  const stores = Array.from({ length: instances }, (_, i) => {
    const client = new IORedis(url);
    const subscriber = client.duplicate();
    connections.push(client, subscriber);
    return new RedisCountStore({
      prefix: `bench-${instances}x${rooms}`,
      instanceId: `instance-${i}`,
      logger: quiet,
      sendCommand: (...args) => client.call(...(args as [string, ...string[]])),
      subscribe: async (channel, onMessage) => {
        subscriber.on('message', (from: string, message: string) => from === channel && onMessage(message));
        await subscriber.subscribe(channel);
      },
    });
  });
  await Promise.all(stores.map((store) => store.init()));
  for (const store of stores) for (let r = 0; r < rooms; r++) for (let s = 0; s < STREAMS_PER_ROOM; s++) store.increment(`/page-${r}`);
  const settled = instances * rooms * STREAMS_PER_ROOM;
  while (!stores.every((store) => store.count() === settled)) await sleep(50);
  await sleep(1000);

  await admin.config('RESETSTAT');
  const cpuBefore = await admin.info('cpu');
  const started = Date.now();
  const seen: number[] = [];
  let probe = 0;
  const joined: [RedisCountStore, string][] = [];
  while (Date.now() - started < SECONDS * 1000) {
    const tickAt = Date.now();
    // Half of the changes are probes: a join in a new room, timed until every other instance shows it.
    const from = stores[probe % instances];
    const room = `/probe-${probe++}`;
    const others = stores.filter((store) => store !== from);
    const waiting = new Set(others);
    const done = new Promise<void>((resolve) => {
      const listeners = others.map((store) => {
        const listener = ({ room: changed }: { room: string }) => {
          if (changed !== room || store.count(room) !== 1) return;
          waiting.delete(store);
          store.events.off('change', listener);
          if (waiting.size === 0) resolve();
        };
        store.events.on('change', listener);
        return listener;
      });
      setTimeout(() => {
        others.forEach((store, i) => store.events.off('change', listeners[i]));
        resolve();
      }, 5000).unref();
    });
    from.increment(room);
    await done;
    seen.push(waiting.size === 0 ? Date.now() - tickAt : 5000);
    from.decrement(room);
    // The other changes: a stream leaving or joining a page on a random instance.
    const store = stores[Math.floor(Math.random() * instances)];
    const page = `/page-${Math.floor(Math.random() * rooms)}`;
    if (joined.length > 0 && Math.random() < 0.5) {
      const [owner, left] = joined.pop()!;
      owner.decrement(left);
    } else {
      store.increment(page);
      joined.push([store, page]);
    }
    await sleep(Math.max(0, (3 * 1000) / CHANGES_PER_SECOND - (Date.now() - tickAt)));
  }
  const elapsed = (Date.now() - started) / 1000;
  const cpuAfter = await admin.info('cpu');
  const stats = await admin.info('commandstats');
  const cpu = ['used_cpu_sys', 'used_cpu_user'].reduce((sum, field) => sum + info(cpuAfter, field) - info(cpuBefore, field), 0);
  const calls = info(stats, 'cmdstat_evalsha:calls') + info(stats, 'cmdstat_eval:calls');
  const usec = info(stats, 'cmdstat_evalsha:calls=[0-9]+,usec') + info(stats, 'cmdstat_eval:calls=[0-9]+,usec');
  await Promise.all(stores.map((store) => store.close()));
  for (const connection of connections) connection.disconnect();
  seen.sort((a, b) => a - b);
  return {
    instances,
    rooms,
    cores: cpu / elapsed,
    callsPerSecond: calls / elapsed,
    usPerCall: calls ? usec / calls : 0,
    seenMedianMs: seen[Math.floor(seen.length / 2)],
    seenMaxMs: seen[seen.length - 1],
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'user-counter-bench-redis-'));
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const admin = new IORedis(url, { retryStrategy: () => 50 });
  admin.on('error', () => undefined);
  try {
    while ((await admin.ping().catch(() => '')) !== 'PONG') await sleep(50);
    console.log(`${SECONDS} s per size, ${CHANGES_PER_SECOND} changes/s (a third of them timed joins in a new room), redis-server ${/redis_version:(\S+)/.exec(await admin.info('server'))?.[1]}`);
    console.log('| instances | rooms each | Redis CPU (cores) | script calls/s | µs/call | seen by all, median | seen by all, max |');
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [instances, rooms] of SIZES) {
      const r = await measure(url, admin, instances, rooms);
      console.log(`| ${r.instances} | ${r.rooms} | ${r.cores.toFixed(3)} | ${r.callsPerSecond.toFixed(0)} | ${r.usPerCall.toFixed(0)} | ${r.seenMedianMs} ms | ${r.seenMaxMs} ms |`);
    }
  } finally {
    admin.disconnect();
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
