import { Child, cpuSeconds, now } from './ipc.js';
import { distribution } from './statistics.js';
import { loopbackAddress } from './viewer.js';
import type { ViewerBrowser } from './viewer.js';

/**
 * The parent's side of the client processes (`client-worker.ts`): opens viewers spread
 * over them, waits until every viewer holds a frame, and gathers what the viewers saw.
 */
export class Clients {
  private settled = new Set<number>();
  private waiters: (() => void)[] = [];
  private nextAddress = 0;

  private constructor(readonly workers: Child[]) {
    workers.forEach((worker, index) => {
      worker.on('settled', () => {
        this.settled.add(index);
        if (this.settled.size === workers.length) for (const wake of this.waiters.splice(0)) wake();
      });
      worker.on('unsettled', () => this.settled.delete(index));
    });
  }

  /** Start `count` client processes. */
  static async start(count: number): Promise<Clients> {
    const workers = await Promise.all(Array.from({ length: count }, (_, i) => Child.start('client-worker.ts', `client ${i + 1}`, { from: __dirname })));
    return new Clients(workers.map(({ child }) => child));
  }

  /** A fresh loopback address (127.x.y.z), never used before in this run. */
  address(): string {
    return loopbackAddress(this.nextAddress++);
  }

  /** Open `n` viewers spread over the workers, all at once, as `browser`; every viewer should come to hold `target`. */
  async open(port: number, n: number, target: string, timeoutMs: number, browser: ViewerBrowser = 'chromium') {
    this.settled.clear();
    const first = this.nextAddress;
    this.nextAddress += n;
    const share = (i: number) => Math.floor(n / this.workers.length) + (i < n % this.workers.length ? 1 : 0);
    let offset = first;
    const replies = await Promise.all(
      this.workers.map((worker, i) => {
        const count = share(i);
        const from = offset;
        offset += count;
        return worker.call('open', { port, path: '/online.png', count, first: from, target, timeoutMs, browser }, timeoutMs + 10_000);
      }),
    );
    const errors: Record<string, number> = {};
    for (const reply of replies) {
      for (const [error, count] of Object.entries(reply.errors as Record<string, number>)) errors[error] = (errors[error] ?? 0) + count;
    }
    return {
      startAt: Math.min(...replies.map((reply) => reply.startAt as number)),
      lastConnectAt: Math.max(...replies.map((reply) => reply.lastConnectAt as number)),
      connected: replies.reduce((sum, reply) => sum + (reply.connected as number), 0),
      errors,
    };
  }

  /** From now on every viewer should come to hold the frame `hash`. */
  async target(hash: string): Promise<void> {
    this.settled.clear();
    await Promise.all(this.workers.map((worker) => worker.call('target', { hash })));
  }

  /** Resolves with the time when every worker reported all its viewers holding the target, or undefined on timeout. */
  waitSettled(timeoutMs: number): Promise<number | undefined> {
    if (this.settled.size === this.workers.length) return Promise.resolve(now());
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(wake) >>> 0, 1);
        resolve(undefined);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(now());
      };
      this.waiters.push(wake);
    });
  }

  /** For every viewer: since when it has held the frame `hash`, or null. */
  async heldSince(hash: string): Promise<(number | null)[]> {
    const replies = await Promise.all(this.workers.map((worker) => worker.call('heldSince', { hash })));
    return replies.flatMap((reply) => reply.times as (number | null)[]);
  }

  /** What the viewers received, per viewer, since they were opened. */
  async stats() {
    const replies = await Promise.all(this.workers.map((worker) => worker.call('stats')));
    const column = (name: string) => replies.flatMap((reply) => (reply[name] as (number | null)[]).filter((v): v is number => v !== null));
    return {
      frames: distribution(column('frames')),
      changes: distribution(column('changes')),
      keepAlives: distribution(column('repeats')),
      maxChangesPerSecond: distribution(column('maxChangesPerSecond')),
      bytes: distribution(column('bytes')),
      firstFrameBytes: distribution(column('firstFrameBytes')),
      firstFrameDelayMs: distribution(column('firstFrameDelay')),
      connectDelayMs: distribution(column('connectDelay')),
      ended: replies.reduce((sum, reply) => sum + (reply.ended as number), 0),
      framesSeen: new Set(replies.flatMap((reply) => reply.framesSeen as string[])).size,
    };
  }

  /** Every viewer leaves at once; resolves with the time the last one was closed. */
  async leave(): Promise<number> {
    const replies = await Promise.all(this.workers.map((worker) => worker.call('leave')));
    return Math.max(...replies.map((reply) => reply.doneAt as number));
  }

  /** CPU seconds used so far by all the client processes together. */
  cpuSeconds(): number {
    return this.workers.reduce((sum, worker) => sum + cpuSeconds(worker.pid), 0);
  }

  /** Stop the client processes. */
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.stop()));
  }
}

/** What the viewers received: distributions over them, and totals. */
export type ViewerStats = Awaited<ReturnType<Clients['stats']>>;
