import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

/**
 * Request/reply over the IPC channel of a forked child, for the benches and the tests that
 * run a part of themselves in another process (or another network namespace).
 */

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

  /**
   * Fork `script` (TypeScript, run through tsx; a path relative to `from`, the caller's
   * `__dirname`) and wait for its `ready` event. `within`: a command that runs the child
   * inside something, such as `['ip', 'netns', 'exec', name]`; the channel passes through it.
   */
  static async start(
    script: string,
    name: string,
    { from = process.cwd(), args = [] as string[], execArgv = [] as string[], env = {} as NodeJS.ProcessEnv, within = [] as string[] } = {},
  ): Promise<{ child: Child; ready: Message }> {
    const node = ['--import', 'tsx', '--expose-gc', ...execArgv];
    const child = new Child(
      fork(path.resolve(from, script), args, {
        // fork runs `execPath ...execArgv script ...args`.
        execPath: within.length > 0 ? within[0] : process.execPath,
        execArgv: within.length > 0 ? [...within.slice(1), process.execPath, ...node] : node,
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
