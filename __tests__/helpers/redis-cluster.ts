import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPing } from './redis-server.js';
import { sleep } from './time.js';

/** A real three-master Redis Cluster of our own, on free loopback ports. */
export interface TestRedisCluster {
  /** `{ host, port }` of each master, for `new IORedis.Cluster(nodes)`. */
  readonly nodes: { host: string; port: number }[];
  close(): Promise<void>;
}

/** A port that is free, and whose cluster bus port (+10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.has(port) || !(await isFree(port)) || !(await isFree(port + 10_000))) continue;
    taken.add(port);
    return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Start three `redis-server --cluster-enabled yes` and join them with `redis-cli --cluster create`. */
export async function startTestRedisCluster(): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'user-counter-cluster-'));
  const taken = new Set<number>();
  const ports = [await freeClusterPort(taken), await freeClusterPort(taken), await freeClusterPort(taken)];
  const children: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
        '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore', env: process.env },
    ),
  );
  const close = async () => {
    await Promise.all(
      children.map((child) => child.exitCode === null ? new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGKILL'); }) : undefined),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(ports.map((port) => waitForPing('127.0.0.1', port, 10_000)));
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', env: process.env, timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = ports.map((port) => spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' }).stdout);
      if (states.every((info) => info.includes('cluster_state:ok'))) break;
      if (Date.now() > deadline) throw new Error(`the cluster did not reach cluster_state:ok: ${states.join(' | ')}`);
      await sleep(100);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), close };
}
