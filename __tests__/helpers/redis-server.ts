import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/free-port.js';
import { startRedisProxy } from './redis-proxy.js';
import { sleep } from './time.js';

/**
 * A Redis for the tests. With `redis-server` on PATH: our own process on a free port,
 * no persistence, in a temp dir; `stop()` kills it (its data is gone) and `start()` runs
 * it again on the same port. Otherwise `REDIS_URL`, reached through a loopback proxy
 * so that `stop()` and `start()` can cut and restore the network (the data stays).
 */
export interface TestRedis {
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Make Redis unreachable: every connection is cut, new ones are refused. */
  stop(): Promise<void>;
  /** Make it reachable again on the same address. */
  start(): Promise<void>;
  /** Stop for good and clean up. */
  close(): Promise<void>;
}

const INSTALL_HINT =
  'The Redis tests need a Redis: install redis-server (`apt-get install redis-server`, or `brew install redis`) ' +
  'so they can start their own, or set REDIS_URL=redis://HOST:PORT to a test Redis they may write `{test-...}` keys to (and SCRIPT FLUSH).';

/** Start a Redis for one test file; throws (the tests fail) when there is none to be had. */
export async function startTestRedis(): Promise<TestRedis> {
  if (hasRedisServer()) return startOwnRedis();
  const url = process.env.REDIS_URL;
  if (url) {
    const target = new URL(url);
    const host = target.hostname || '127.0.0.1';
    const port = Number(target.port || 6379);
    try {
      await waitForPing(host, port, 2000);
    } catch (error) {
      throw new Error(`redis-server is not on PATH and REDIS_URL=${url} does not answer PING (${(error as Error).message}). ${INSTALL_HINT}`);
    }
    return startRedisProxy(host, port);
  }
  throw new Error(`No Redis for the tests: redis-server is not on PATH and REDIS_URL is not set. ${INSTALL_HINT}`);
}

function hasRedisServer(): boolean {
  // `env` given, so the PATH searched is this module's `process.env.PATH` (Jest gives a copy).
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore', env: process.env }).status === 0;
}

async function startOwnRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'user-counter-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';
  // While stopped, the port is held by a listener that closes every connection at once: given
  // back, another test file's Redis could be started on it, and the clients would reach that.
  let holder: net.Server | undefined;
  const release = async (): Promise<void> => {
    const held = holder;
    holder = undefined;
    if (held) await new Promise((resolve) => held.close(resolve));
  };

  const start = async (): Promise<void> => {
    if (child && child.exitCode === null) return;
    await release();
    output = '';
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    child = started;
    started.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<never>((_, reject) =>
      started.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}: ${output.slice(-2000)}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForPing('127.0.0.1', port, 10_000), exited]);
  };
  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
    const held = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => {
      // Taken already (by something of this machine's own): nothing to hold.
      held.once('error', () => resolve());
      held.listen(port, '127.0.0.1', () => {
        holder = held;
        resolve();
      });
    });
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    stop,
    start,
    async close() {
      await stop();
      await release();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolve once Redis answers PING with PONG; reject after `timeoutMs`. */
export async function waitForPing(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: Error = new Error('no answer');
  while (Date.now() < deadline) {
    try {
      await ping(host, port);
      return;
    } catch (error) {
      lastError = error as Error;
      await sleep(50);
    }
  }
  throw new Error(`Redis at ${host}:${port} did not answer PING within ${timeoutMs} ms: ${lastError.message}`);
}

function ping(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    let reply = '';
    socket.setTimeout(1000, () => socket.destroy(new Error('timeout')));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) {
        socket.destroy();
        if (reply.startsWith('+PONG')) resolve();
        else reject(new Error(`PING answered ${JSON.stringify(reply.trim())}`));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('connection closed')));
  });
}
