import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { Express } from 'express';
import { userCounterMiddleware } from '../../lib/index.js';
import type { Options, UserCounter, UserCounterRouter } from '../../lib/index.js';
import { closeAfterEachTest } from './cleanup.js';

/** A listening Express app with the counter mounted, on 127.0.0.1 (or `host`) and a free port. */
export interface CounterApp {
  readonly app: Express;
  readonly router: UserCounterRouter;
  readonly counter: UserCounter;
  readonly server: Server;
  /** `http://127.0.0.1:PORT` (or the `host` it listens on) */
  readonly url: string;
  /** Close the counter, then the server (cutting any connection still open). */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Called before the counter is mounted (for example to mount `compression()`). */
  before?: (app: Express) => void;
  /** Called after the counter is mounted (routes that read `req.app.locals.userCount`). */
  after?: (app: Express) => void;
  /** The address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** The path the counter's router is mounted under (`app.use(mount, router)`). Default: the root. */
  mount?: string;
}

const running = new Set<CounterApp>();

export async function startCounterApp(options?: Options, { before, after, host = '127.0.0.1', mount = '/' }: StartOptions = {}): Promise<CounterApp> {
  const app = express();
  before?.(app);
  const router = userCounterMiddleware({ logger: quietLogger(), ...options });
  app.use(mount, router);
  after?.(app);
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, host, () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  const started: CounterApp = {
    app,
    router,
    counter: router.counter,
    server,
    url: `http://${host}:${port}`,
    async close() {
      running.delete(started);
      await router.counter.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  running.add(started);
  return started;
}

/** Close every app a test left open (helpers/cleanup.ts, after each test). */
export async function closeAllApps(): Promise<void> {
  await Promise.all([...running].map((started) => started.close()));
}
closeAfterEachTest(closeAllApps, 'servers');

/** A logger that keeps what it is given, for tests that check warnings. */
export function quietLogger(): { warn: jest.Mock; error: jest.Mock } {
  return { warn: jest.fn(), error: jest.fn() };
}
