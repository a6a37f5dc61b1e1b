import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { census, perStream } from './heap-snapshot.js';
import { Child, rssBytes, sleep } from './ipc.js';
import { HashTable } from './frame-hash.js';
import { BenchViewer, loopbackAddress } from './viewer.js';

/**
 * Memory per open stream of the counter, the floor and the Express floor, measured the
 * same way: open N streams from one client process (each from its own 127.x.y.z), wait
 * until each has its first bytes, collect garbage, and compare with the idle process.
 * With `--snapshot`, also a heap snapshot before and after, compared by object kind:
 * what each stream keeps alive, and who to blame for it.
 *
 *   npm run bench:heap [-- --n 3000] [--snapshot] [--top 20] [--only counter|floor|express]
 */

const argv = process.argv.slice(2);
const value = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const n = Number(value('--n') ?? 3000);
const snapshot = argv.includes('--snapshot');
const top = Number(value('--top') ?? 20);
const only = value('--only');
const KB = 1024;

const servers = [
  { name: 'counter', script: 'server-child.ts', env: { BENCH_MAX_CONNECTIONS: String(n + 100) } },
  { name: 'floor', script: 'floor-child.ts', env: {} },
  { name: 'express', script: 'floor-child.ts', env: { BENCH_FLOOR_EXPRESS: '1' } },
].filter((server) => only === undefined || server.name === only);

/** Open `count` streams as a page's `<img>` would, and resolve once every one has its response. */
function openStreams(port: number, count: number): Promise<BenchViewer[]> {
  const hashes = new HashTable();
  const viewers: BenchViewer[] = [];
  return new Promise((resolve, reject) => {
    let opened = 0;
    for (let i = 0; i < count; i++) {
      const viewer = new BenchViewer(hashes);
      viewers.push(viewer);
      viewer.open({ port, path: '/online.png', localAddress: loopbackAddress(i + 1) }, () => {
        if (viewer.status !== 200) reject(new Error(`a stream was refused: ${viewer.error ?? `status ${viewer.status}`}`));
        else if (++opened === count) resolve(viewers);
      });
    }
  });
}

async function measure(server: (typeof servers)[number]) {
  const { child, ready } = await Child.start(server.script, server.name, { from: __dirname, env: server.env });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heap-'));
  try {
    if (server.script === 'floor-child.ts') await child.call('frame', { png: Buffer.alloc(800) });
    await sleep(500);
    const usage = async () => {
      const reply = await child.call('usage', { gc: true });
      return { rss: rssBytes(child.pid), heapUsed: reply.heapUsed as number, heapTotal: reply.heapTotal as number };
    };
    const before = await usage();
    const snapBefore = snapshot ? ((await child.call('heapSnapshot', { file: path.join(dir, `${server.name}-before.heapsnapshot`) })).file as string) : undefined;
    const viewers = await openStreams(ready.port as number, n);
    await sleep(1000);
    const after = await usage();
    const snapAfter = snapshot ? ((await child.call('heapSnapshot', { file: path.join(dir, `${server.name}-after.heapsnapshot`) })).file as string) : undefined;
    for (const viewer of viewers) viewer.close();
    const per = (key: 'rss' | 'heapUsed' | 'heapTotal') => (after[key] - before[key]) / n / KB;
    const kinds = snapBefore && snapAfter ? perStream(census(snapBefore), census(snapAfter), n) : [];
    return { name: server.name, rssKB: per('rss'), heapUsedKB: per('heapUsed'), heapTotalKB: per('heapTotal'), kinds };
  } finally {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`memory per stream, ${n} streams, Node ${process.version}`);
  console.log('| server | RSS KB | heap used KB | heap committed KB |');
  console.log('|---|--:|--:|--:|');
  const results = [];
  for (const server of servers) {
    const result = await measure(server);
    results.push(result);
    console.log(`| ${result.name} | ${result.rssKB.toFixed(2)} | ${result.heapUsedKB.toFixed(2)} | ${result.heapTotalKB.toFixed(2)} |`);
  }
  for (const result of results.filter((r) => r.kinds.length > 0)) {
    console.log(`\n${result.name}: what one stream keeps on the heap (bytes, objects), by kind`);
    for (const kind of result.kinds.slice(0, top)) console.log(`${kind.bytes.toFixed(0).padStart(7)} ${kind.objects.toFixed(2).padStart(6)}  ${kind.kind}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
