import { spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../free-port.js';

/** The demo (`demo/server.ts`) running as a child process, as `npm run demo` runs it. */
export interface DemoServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Everything it printed. */
  readonly output: () => string;
  /** SIGTERM (the demo closes its counter), SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
}

/** Start `npx tsx demo/server.ts` on a free port on 127.0.0.1; resolves once it listens. */
export async function startDemo(timeoutMs = 30_000): Promise<DemoServer> {
  const port = await freePort();
  const root = path.resolve(__dirname, '..', '..');
  // Its own process group, so that stopping it reaches tsx and node behind npx.
  const child = spawn('npx', ['tsx', 'demo/server.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // Already gone.
    }
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`The demo did not start within ${timeoutMs} ms. It printed:\n${output}`)), timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      void stop().then(() => reject(error));
    };
    const onOutput = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes(`http://127.0.0.1:${port}/`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    child.once('exit', (code, sig) => fail(new Error(`The demo exited (${code ?? sig}) before listening. It printed:\n${output}`)));
  });
  return { url: `http://127.0.0.1:${port}`, output: () => output, stop };
}
