import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The benchmark's plumbing: one clock for every process, request/reply over the
 * IPC channel of a forked child, and the kernel's view of a child's CPU and RSS
 * (read from /proc, so a busy child's event loop does not delay the reading).
 */

/** Milliseconds since the epoch with sub-millisecond resolution, comparable across processes. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Wait `ms`: Node's own promise timer, for the scenarios to pace themselves. */
export { sleep };

/** Check every `everyMs` until `check` holds (true) or `timeoutMs` has passed (false). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return false;
}

/** A message on the IPC channel: a request (`id`), a reply (`reply`), or an event (neither). */
export interface Message {
  type: string;
  id?: number;
  reply?: number;
  error?: string;
  [field: string]: unknown;
}

type Handler = (message: Message) => unknown;

/** The parent's side of a forked child that answers requests. */
export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: Message) => void; reject: (error: Error) => void }>();
  private readonly listeners = new Map<string, Handler[]>();
  readonly exited: Promise<number | null>;

  private constructor(readonly process: ChildProcess, readonly name: string) {
    process.on('message', (raw) => {
      const message = raw as Message;
      if (message.reply !== undefined) {
        const waiting = this.pending.get(message.reply);
        this.pending.delete(message.reply);
        if (message.error) waiting?.reject(new Error(`${name}: ${message.error}`));
        else waiting?.resolve(message);
        return;
      }
      for (const listener of this.listeners.get(message.type) ?? []) listener(message);
    });
    this.exited = new Promise((resolve) => process.once('exit', (code) => resolve(code)));
    void this.exited.then(() => {
      for (const waiting of this.pending.values()) waiting.reject(new Error(`${name} exited`));
      this.pending.clear();
    });
  }

  /** Fork `script` (TypeScript, run through tsx) and wait for its `ready` event. */
  static async start(script: string, name: string, { args = [] as string[], execArgv = [] as string[], env = {} as NodeJS.ProcessEnv } = {}): Promise<{ child: Child; ready: Message }> {
    const child = new Child(
      fork(path.resolve(__dirname, script), args, {
        execArgv: ['--import', 'tsx', '--expose-gc', ...execArgv],
        env: { ...process.env, ...env },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      }),
      name,
    );
    const ready = await Promise.race([
      child.once('ready'),
      child.exited.then((code) => Promise.reject(new Error(`${name} exited with ${code} before it was ready`))),
    ]);
    return { child, ready };
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** Send a request and wait for its reply. */
  call(type: string, fields: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<Message> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no reply to ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      this.process.send({ ...fields, type, id });
    });
  }

  on(type: string, listener: Handler): () => void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
    return () => list.splice(list.indexOf(listener) >>> 0, 1);
  }

  once(type: string): Promise<Message> {
    return new Promise((resolve) => {
      const off = this.on(type, (message) => {
        off();
        resolve(message);
      });
    });
  }

  /** Ask the child to exit (so that it can write a profile), then make sure it did. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.process.send({ type: 'exit' });
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The child's side: answer requests with `handlers`, and tell the parent it is ready. */
export function serve(handlers: Record<string, (message: Message) => unknown>): void {
  process.on('message', (raw) => {
    const message = raw as Message;
    if (message.type === 'exit' && !handlers.exit) process.exit(0);
    const handler = handlers[message.type];
    if (!handler) {
      if (message.id !== undefined) process.send!({ type: message.type, reply: message.id, error: `no handler for ${message.type}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message))
      .then(
        (result) => message.id !== undefined && process.send!({ ...(result as object), type: message.type, reply: message.id }),
        (error: unknown) =>
          message.id !== undefined && process.send!({ type: message.type, reply: message.id, error: String((error as Error)?.stack ?? error) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

/** Send an event to the parent. */
export function notify(type: string, fields: Record<string, unknown> = {}): void {
  process.send!({ ...fields, type });
}

const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU seconds of a process, as the kernel counts them (10 ms resolution). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // The command name (field 2) may contain spaces; the fields after it are space-separated.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size of a process in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return Number(kb) * 1024;
}

/**
 * The kernel's TCP counters for this network namespace (all processes, since boot):
 * `ListenOverflows` counts handshakes dropped because a listen queue was full (the
 * server did not accept fast enough), `TCPSynRetrans` SYNs sent again after such a drop.
 */
export function tcpCounters(): { listenOverflows: number; synRetransmits: number } {
  try {
    const [names, values] = readFileSync('/proc/net/netstat', 'latin1')
      .split('\n')
      .filter((line) => line.startsWith('TcpExt:'))
      .map((line) => line.split(/\s+/));
    const get = (name: string) => Number(values[names.indexOf(name)] ?? NaN);
    return { listenOverflows: get('ListenOverflows'), synRetransmits: get('TCPSynRetrans') };
  } catch {
    return { listenOverflows: NaN, synRetransmits: NaN };
  }
}
