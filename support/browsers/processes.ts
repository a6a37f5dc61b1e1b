import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { freePort } from '../free-port.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROGRAMS, programPath } from './programs.js';

/*
 * The helper processes WebKit needs (Xvfb, WebKitWebDriver), each stopped by its owner
 * (afterAll) and, should a test file end without that, when this process exits. They stay
 * in our process group, so a Ctrl-C in the terminal reaches them too.
 */

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A helper process that was started and answers; `stop` resolves once it has exited. */
export interface HelperProcess {
  readonly child: ChildProcess;
  /** Everything it printed (the last 4 kB), for error messages. */
  readonly output: () => string;
  stop(): Promise<void>;
}

function startHelper(command: string, args: string[], env: NodeJS.ProcessEnv, extraFds = 0): HelperProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe', ...Array<'pipe'>(extraFds).fill('pipe')] });
  running.add(child);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4096);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
    child.once('error', (error) => {
      keep(Buffer.from(`\n${error.message}`));
      running.delete(child);
      resolve();
    });
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
  };
  return { child, output: () => output, stop };
}

/** A virtual X display; `display` is `:N`. */
export interface XServer extends HelperProcess {
  readonly display: string;
}

/**
 * `Xvfb -screen 0 1280x1024x24 -nolisten tcp` on a free display number: Xvfb picks one
 * itself and writes it to fd 3 (`-displayfd`) once it accepts connections, so two test
 * files (or someone else's Xvfb on :99) never race for one number.
 */
export async function startXvfb(timeoutMs = 10_000): Promise<XServer> {
  const args = ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'];
  const helper = startHelper(programPath(PROGRAMS.xvfb), args, process.env, 1);
  const display = await new Promise<string>((resolve, reject) => {
    let written = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      void helper.stop().then(() => reject(new Error(`Xvfb ${why}. It printed:\n${helper.output()}`)));
    };
    const timer = setTimeout(() => fail(`gave no display number within ${timeoutMs} ms`), timeoutMs);
    (helper.child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
      written += chunk.toString();
      if (!written.includes('\n')) return;
      clearTimeout(timer);
      resolve(`:${written.trim()}`);
    });
    helper.child.once('exit', (code, signal) => fail(`exited (${code ?? signal}) before it was ready`));
  });
  return { ...helper, display };
}

/** A WebKitWebDriver listening on `url`, drawing its browsers on `display`. */
export interface WebKitDriverProcess extends HelperProcess {
  readonly url: string;
}

/** Start WebKitWebDriver on a free port; resolves once `GET /status` answers. */
export async function startWebKitDriver(display: string, timeoutMs = 10_000): Promise<WebKitDriverProcess> {
  const port = await freePort();
  const helper = startHelper(programPath(PROGRAMS.webkitDriver), [`--port=${port}`], { ...process.env, DISPLAY: display });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (helper.child.exitCode !== null || helper.child.signalCode !== null) {
      throw new Error(`WebKitWebDriver exited (${helper.child.exitCode ?? helper.child.signalCode}) before answering. It printed:\n${helper.output()}`);
    }
    try {
      const response = await fetch(`${url}/status`);
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await helper.stop();
      throw new Error(`WebKitWebDriver did not answer on ${url} within ${timeoutMs} ms. It printed:\n${helper.output()}`);
    }
    await sleep(20);
  }
  return { ...helper, url };
}
