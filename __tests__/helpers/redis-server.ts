import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { createClient } from 'redis';
import { RedisCountStore } from '../../lib/redis-count-store.js';
import type { RedisCountStoreOptions } from '../../lib/redis-count-store-options.js';
import { quietLogger } from './counter-app.js';

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
    return startProxy(host, port);
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

  const start = async (): Promise<void> => {
    if (child && child.exitCode === null) return;
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
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP proxy on a free loopback port in front of an external Redis. */
async function startProxy(targetHost: string, targetPort: number): Promise<TestRedis> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const port = await freePort();
  const start = async (): Promise<void> => {
    if (server) return;
    const listening = net.createServer((client) => {
      const upstream = net.connect(targetPort, targetHost);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    server = listening;
    await new Promise<void>((resolve) => listening.listen(port, '127.0.0.1', resolve));
  };
  const stop = async (): Promise<void> => {
    const listening = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (listening) await new Promise<void>((resolve) => listening.close(() => resolve()));
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, host: '127.0.0.1', port, start, stop, close: stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
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
      await new Promise((resolve) => setTimeout(resolve, 50));
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

/** Which Redis client library a store is built with. */
export type ClientLibrary = 'ioredis' | 'node-redis';

/** A RedisCountStore built with a real client, as the README shows, and its connections. */
export interface ConnectedStore {
  readonly store: RedisCountStore;
  /** Every command the store sent, in order (the first argument is the command name). */
  readonly commands: string[][];
  /** Close the store, then the client's connections. */
  close(): Promise<void>;
}

const connected = new Set<ConnectedStore>();

/**
 * Build a RedisCountStore on `redis` with ioredis or node-redis, exactly as the README
 * shows (a command function, and a subscription on a duplicate connection), with a
 * quick reconnect so the outage tests do not wait for the clients' back-off.
 */
export async function connectStore(
  library: ClientLibrary,
  redis: Pick<TestRedis, 'url'>,
  options: Omit<RedisCountStoreOptions, 'sendCommand' | 'subscribe'> = {},
  /** Sits between the store and the client: may delay or fail a command. */
  intercept: (args: string[], send: () => Promise<unknown>) => Promise<unknown> = (_, send) => send(),
): Promise<ConnectedStore> {
  const commands: string[][] = [];
  let store: RedisCountStore;
  let disconnect: () => Promise<void>;
  if (library === 'ioredis') {
    const client = new IORedis(redis.url, { retryStrategy: () => 100, maxRetriesPerRequest: 2 });
    const subscriber = client.duplicate();
    for (const connection of [client, subscriber]) connection.on('error', () => undefined);
    store = new RedisCountStore({
      logger: quietLogger(),
      ...options,
      sendCommand: (...args) => {
        commands.push(args);
        return intercept(args, () => client.call(...(args as [string, ...string[]])));
      },
      subscribe: async (channel, onMessage) => {
        const listener = (from: string, message: string) => {
          if (from === channel) onMessage(message);
        };
        subscriber.on('message', listener);
        await subscriber.subscribe(channel);
        return async () => {
          subscriber.off('message', listener);
          await subscriber.unsubscribe(channel);
        };
      },
    });
    // A hint published while the subscriber was away is lost: re-read when it is back.
    subscriber.on('ready', () => store.refresh());
    disconnect = async () => {
      client.disconnect();
      subscriber.disconnect();
    };
  } else {
    const client = createClient({ url: redis.url, socket: { reconnectStrategy: () => 100 } });
    const subscriber = client.duplicate();
    for (const connection of [client, subscriber]) connection.on('error', () => undefined);
    await Promise.all([client.connect(), subscriber.connect()]);
    store = new RedisCountStore({
      logger: quietLogger(),
      ...options,
      sendCommand: (...args) => {
        commands.push(args);
        return intercept(args, () => client.sendCommand(args));
      },
      subscribe: async (channel, onMessage) => {
        await subscriber.subscribe(channel, onMessage);
        return () => subscriber.unsubscribe(channel, onMessage);
      },
    });
    subscriber.on('ready', () => store.refresh());
    disconnect = async () => {
      client.destroy();
      subscriber.destroy();
    };
  }
  const result: ConnectedStore = {
    store,
    commands,
    async close() {
      connected.delete(result);
      await store.close();
      await disconnect();
    },
  };
  connected.add(result);
  return result;
}

/** Close every store (and its clients) a test left open; call from afterEach after closeAllApps. */
export async function closeAllStores(): Promise<void> {
  await Promise.all([...connected].map((entry) => entry.close()));
}

/** The script calls among `commands` (EVALSHA, and EVAL after NOSCRIPT). */
export function scriptCalls(commands: string[][]): number {
  return commands.filter(([name]) => name === 'EVALSHA').length;
}

/** A prefix no other test uses, so tests sharing one Redis do not see each other. */
export function uniquePrefix(): string {
  return `test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}
