import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { userCounterMiddleware } from '../lib/index.js';

/**
 * The soak's server (`soak.ts`): the demo's app in a child process (this file run with
 * `--server`), so that its memory is its own; the parent asks it for its memory over IPC.
 */

/** The server process's memory after a forced collection, and the count it shows. */
interface MemoryReport {
  rss: number;
  heapUsed: number;
  external: number;
  count: number;
}

type ToServer = { type: 'memory' } | { type: 'stop' };
type FromServer = ({ type: 'ready'; port: number }) | ({ type: 'memory' } & MemoryReport);

/** The child's side: the app, answering `memory` and `stop`. */
function runServer(): void {
  const send = (message: FromServer): void => void process.send!(message);
  const app = express();
  const router = userCounterMiddleware();
  app.use(router);
  // The same page as the browser tests' IMAGE_PAGE_HTML (not imported: that would load Playwright here).
  app.get('/', (_req, res) => {
    res.type('html').send('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Users online</title></head><body><img src="/online.png" width=200 height=30 alt="Users online"></body></html>');
  });
  const server = app.listen(0, '127.0.0.1', () => send({ type: 'ready', port: (server.address() as AddressInfo).port }));
  process.on('message', (message: ToServer) => {
    if (message.type === 'memory') {
      (globalThis as { gc?: () => void }).gc?.();
      const { rss, heapUsed, external } = process.memoryUsage();
      send({ type: 'memory', rss, heapUsed, external, count: router.counter.count });
    } else {
      void router.counter.close().then(() => {
        server.closeAllConnections();
        server.close(() => process.exit(0));
      });
    }
  });
}

/** The parent's side: start the server, read its memory, stop it. */
export class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  /** Fork the server and wait until it listens. */
  static async start(): Promise<ServerProcess> {
    const child = fork(__filename, ['--server'], { execArgv: [...process.execArgv, '--expose-gc'], stdio: 'inherit' });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (message: FromServer) => (message.type === 'ready' ? resolve(message.port) : reject(new Error('The server did not start.'))));
      child.once('exit', (code) => reject(new Error(`The server exited (${code}) before listening.`)));
    });
    return new ServerProcess(child, `http://127.0.0.1:${port}/`);
  }

  /** The server's memory after a collection, and its count. */
  memory(): Promise<MemoryReport> {
    return new Promise((resolve) => {
      this.child.once('message', (message: FromServer) => {
        if (message.type === 'memory') resolve(message);
      });
      this.child.send({ type: 'memory' } satisfies ToServer);
    });
  }

  /** Close the counter and the server; kill the process if it has not exited after 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ type: 'stop' } satisfies ToServer);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

if (process.argv.includes('--server')) runServer();
