import IORedis from 'ioredis';
import { createClient } from 'redis';
import { RedisCountStore } from '../../lib/redis/redis-count-store.js';
import type { RedisCountStoreOptions } from '../../lib/types/index.js';
import { closeAfterEachTest } from './cleanup.js';
import { quietLogger } from './counter-app.js';
import type { TestRedis } from './redis-server.js';

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
  /** The store's options; a `subscribe` given here replaces the README's. */
  options: Omit<RedisCountStoreOptions, 'sendCommand'> = {},
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
      ...options,
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
      sendCommand: (...args) => {
        commands.push(args);
        return intercept(args, () => client.sendCommand(args));
      },
      subscribe: async (channel, onMessage) => {
        await subscriber.subscribe(channel, onMessage);
        return () => subscriber.unsubscribe(channel, onMessage);
      },
      ...options,
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

/** Close every store (and its clients) a test left open. */
export async function closeAllStores(): Promise<void> {
  await Promise.all([...connected].map((entry) => entry.close()));
}

// After each test, after the apps (counter-app.js, imported above, registered first).
closeAfterEachTest(closeAllStores, 'servers');

/** The script calls among `commands` (EVALSHA, and EVAL after NOSCRIPT). */
export function scriptCalls(commands: string[][]): number {
  return commands.filter(([name]) => name === 'EVALSHA').length;
}

/** A prefix no other test uses, so tests sharing one Redis do not see each other. */
export function uniquePrefix(): string {
  return `test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}
