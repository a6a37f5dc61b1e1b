import http from 'node:http';
import { Child, rssBytes } from './ipc.js';
import { maxConnectionsFor } from './options.js';
import type { BenchOptions } from './options.js';
import { MB, round } from './statistics.js';

/**
 * The servers under test, each alone in its child process: the counter
 * (`server-child.ts`), the bare `node:http` floor and the Express floor (`floor-child.ts`).
 */

/** Which server: the counter, the floor, or the floor's handler inside an Express app. */
export type Kind = 'server' | 'floor' | 'express floor';

/** A server process, started for one storm. */
export interface RunningServer {
  kind: Kind;
  child: Child;
  port: number;
}

/** Start a fresh process for `kind`, and wait until it listens. */
export async function startServer(kind: Kind, options: BenchOptions): Promise<RunningServer> {
  const { child, ready } = await Child.start(kind === 'server' ? 'server-child.ts' : 'floor-child.ts', kind, {
    from: __dirname,
    env: {
      BENCH_FLOOR_EXPRESS: kind === 'express floor' ? '1' : '',
      BENCH_BACKLOG: String(options.backlog),
      BENCH_MAX_CONNECTIONS: String(maxConnectionsFor(options)),
      BENCH_COUNTER_OPTIONS: options.counterOptions,
    },
  });
  return { kind, child, port: ready.port as number };
}

/** A server process's memory after a forced collection. */
export interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
}

/** Collect garbage in the child, then read its heap (over IPC) and its RSS (from the kernel). */
export async function memory(child: Child): Promise<Memory> {
  const usage = await child.call('usage', { gc: true });
  // RSS from the kernel, read after the collection.
  return { rss: rssBytes(child.pid), heapUsed: usage.heapUsed as number, external: usage.external as number };
}

/** Memory per stream with `n` streams open (`at`) against the idle process, and the totals. */
export interface MemoryPerStream {
  rssKB: number;
  heapKB: number;
  externalKB: number;
  rssMB: number;
  heapMB: number;
}

/** What `n` streams cost: `at` minus `idle`, per stream. */
export function perStream(at: Memory, idle: Memory, n: number): MemoryPerStream {
  return {
    rssKB: round((at.rss - idle.rss) / n / 1024, 2),
    heapKB: round((at.heapUsed - idle.heapUsed) / n / 1024, 2),
    externalKB: round((at.external - idle.external) / n / 1024, 2),
    rssMB: round(at.rss / MB),
    heapMB: round(at.heapUsed / MB),
  };
}

const jsonAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** A GET of /online.json: the count as the server reports it. */
export function readCount(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/online.json', agent: jsonAgent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve((JSON.parse(body) as { count: number }).count));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** Close the kept-alive connection `readCount` uses, so the process can exit. */
export function stopReadingCounts(): void {
  jsonAgent.destroy();
}
