import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { eventually } from './time.js';

/*
 * A consumer project of __tests__/package/project-setups, running: it prints `listening <port>`
 * once its app listens, and on SIGTERM closes its counter, then its server, and exits by itself.
 */

/** A running consumer project's app. */
export interface ConsumerApp {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Everything the app printed so far. */
  output(): string;
  /** SIGTERM, then how the process exited (it gets 10 s to do so by itself). */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

/** Run `node <main>` in `project`; resolves once it listens (or rejects with what it printed). */
export async function startConsumer(project: string, main: string): Promise<ConsumerApp> {
  const child = spawn(process.execPath, [main], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const port = () => /^listening (\d+)$/m.exec(output)?.[1];
  await eventually(() => port() !== undefined || !running.has(child), `${main} to print "listening <port>"`, 30_000).catch((error: Error) => {
    throw new Error(`${error.message}; it printed:\n${output}`);
  });
  if (!running.has(child)) throw new Error(`${main} exited before listening; it printed:\n${output}`);
  return {
    url: `http://127.0.0.1:${port()}`,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Kill every consumer app a test left running (call from afterEach). */
export function killAllConsumers(): void {
  for (const child of running) child.kill('SIGKILL');
}
