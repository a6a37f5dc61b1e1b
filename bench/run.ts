import { execFileSync } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCanvasRenderer } from '../lib/frame-renderer.js';
import { coalescingWindowMs } from '../lib/frame-broadcaster.js';
import { MultipartFormat } from '../lib/multipart-format.js';
import { resolveOptions } from '../lib/options.js';
import { Child, cpuSeconds, now, rssBytes, sleep, tcpCounters } from './ipc.js';
import type { Message } from './ipc.js';
import { formatProfileSummary, summariseProfile } from './profile-summary.js';
import type { ProfileSummary } from './profile-summary.js';
import { BenchViewer, HashTable, frameHash, loopbackAddress } from './viewer.js';

/**
 * `npm run bench [-- --quick] [--n 1000,5000] [--profile] [--no-floor] [--json FILE]`
 *
 * The counter (an Express app with `userCounterMiddleware()`, as the demo) and a
 * floor server (bare `node:http`, one shared frame per viewer) each run alone in a
 * child process; viewers run in client processes, each from its own loopback
 * address. See bench/README.md for what each figure means.
 */

// ---------------------------------------------------------------- options

interface BenchOptions {
  quick: boolean;
  sizes: number[];
  floor: boolean;
  /** Also run the Express floor (an Express app doing what the floor does) at the largest N. */
  expressFloor: boolean;
  profile: boolean;
  profileDir: string;
  fanoutRounds: number;
  perWorker: number;
  backlog: number;
  settleTimeoutMs: number;
  json: string | undefined;
  /** Options for userCounterMiddleware in the counter's process, as JSON. */
  counterOptions: string;
}

function parseOptions(argv: string[]): BenchOptions {
  const value = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const sizes = (value('--n') ?? (quick ? '1000' : '1000,5000,10000')).split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--n takes viewer counts, for example --n 1000,5000');
  const counterOptions = value('--counter-options');
  if (counterOptions !== undefined) JSON.parse(counterOptions);
  return {
    quick,
    sizes,
    floor: !argv.includes('--no-floor'),
    expressFloor: !argv.includes('--no-floor') && !argv.includes('--no-express-floor'),
    profile: argv.includes('--profile'),
    profileDir: path.resolve(value('--profile-dir') ?? path.join(__dirname, 'profiles')),
    fanoutRounds: Number(value('--fanout-rounds') ?? 3),
    perWorker: Number(value('--per-worker') ?? 2500),
    backlog: Number(value('--backlog') ?? 511),
    settleTimeoutMs: Number(value('--settle-timeout') ?? (quick ? 30_000 : 120_000)),
    json: value('--json'),
    counterOptions: value('--counter-options') ?? '{}',
  };
}

/** The counter's cap on streams (`maxConnections`), above the largest storm and the fan-out's joiners. */
function maxConnectionsFor(options: BenchOptions): number {
  return Math.max(10_000, Math.max(...options.sizes) + options.fanoutRounds + 100);
}

// ---------------------------------------------------------------- statistics

interface Distribution {
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

function distribution(values: number[]): Distribution {
  if (values.length === 0) return { mean: NaN, p50: NaN, p99: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length, 2), p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]) };
}

function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

const MB = 1024 * 1024;

// ---------------------------------------------------------------- frames

/** The frames the counter should show: the built-in renderer with the default options. */
const image = resolveOptions().image;
const renderer = createCanvasRenderer(image);
const pngs = new Map<number, Buffer>();
function pngFor(count: number): Buffer {
  let png = pngs.get(count);
  if (!png) {
    png = renderer.renderSync!(count);
    pngs.set(count, png);
  }
  return png;
}
const hashFor = (count: number): string => frameHash(pngFor(count));


// ---------------------------------------------------------------- the client processes

class Clients {
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

  static async start(count: number): Promise<Clients> {
    const workers = await Promise.all(Array.from({ length: count }, (_, i) => Child.start('client-worker.ts', `client ${i + 1}`)));
    return new Clients(workers.map(({ child }) => child));
  }

  /** A fresh loopback address (127.x.y.z), never used before in this run. */
  address(): string {
    return loopbackAddress(this.nextAddress++);
  }

  /** Open `n` viewers spread over the workers, all at once; every viewer should come to hold `target`. */
  async open(port: number, n: number, target: string, timeoutMs: number) {
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
        return worker.call('open', { port, path: '/online.png', count, first: from, target, timeoutMs }, timeoutMs + 10_000);
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

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.stop()));
  }
}

// ---------------------------------------------------------------- servers

type Kind = 'server' | 'floor' | 'express floor';

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
}

async function memory(child: Child): Promise<Memory> {
  const usage = await child.call('usage', { gc: true });
  // RSS from the kernel, read after the collection.
  return { rss: rssBytes(child.pid), heapUsed: usage.heapUsed as number, external: usage.external as number };
}

function perStream(at: Memory, idle: Memory, n: number) {
  return {
    rssKB: round((at.rss - idle.rss) / n / 1024, 2),
    heapKB: round((at.heapUsed - idle.heapUsed) / n / 1024, 2),
    externalKB: round((at.external - idle.external) / n / 1024, 2),
    rssMB: round(at.rss / MB),
    heapMB: round(at.heapUsed / MB),
  };
}

/** A GET of /online.json: the count as the server reports it. */
const jsonAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function readCount(port: number): Promise<number> {
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

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return false;
}

// ---------------------------------------------------------------- scenarios

interface StormResult {
  kind: Kind;
  n: number;
  connected: number;
  errors: Record<string, number>;
  connectMs: number;
  /** From the last connect until every viewer holds the frame for N (null: not within the timeout). */
  settleMs: number | null;
  holding: number;
  cpuSeconds: number;
  /** CPU of the client processes over the same time (they share the machine's cores with the server). */
  clientCpuSeconds: number;
  rssIdleMB: number;
  rssAtSettleMB: number;
  rssPerStreamAtSettleKB: number;
  /** Encoder calls in the server process during the storm (null for the floor, which never renders). */
  renders: number | null;
  /** `res.write` calls and bytes per viewer in the server process during the storm (heartbeats included). */
  writesPerViewer: number | null;
  writtenKBPerViewer: number | null;
  /** Distinct frames any viewer received. */
  framesSeen: number;
  loopDelayMaxMs: number | null;
  /** Handshakes the kernel dropped because the listen queue was full, and SYNs re-sent, during the connect phase (machine-wide counters). */
  listenOverflows: number;
  synRetransmits: number;
  /** Streams that ended during the storm, as the server counted them (should be 0). */
  serverDisconnects: number | null;
  perViewer: Awaited<ReturnType<Clients['stats']>>;
}

interface Deep {
  /** `cpuPercent`: CPU of one core used with the streams open and nothing changing (heartbeats, keep-alives). */
  /** `streams`: the viewers that connected (per-stream figures are divided by it). */
  steady?: { n: number; streams: number; cpuPercent: number; idleRssMB: number; idleHeapMB: number } & ReturnType<typeof perStream>;
  fanout?: FanoutResult;
  leave?: LeaveResult;
  floorLeave?: Awaited<ReturnType<typeof floorLeave>>;
  steadyProfile?: ProfileSummary;
}

interface FanoutResult {
  streams: number;
  coalescingWindowMs: number;
  rounds: {
    from: number;
    to: number;
    heldBy: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    /** From the change until the server's last frame-sized write: the server's own part of the fan-out. */
    serverWritesDoneMs: number;
    /** Frame-sized writes per open stream for this change. */
    writesPerStream: number;
    joinerFirstFrameShowsCount: boolean;
    /** Why the round could not be measured. */
    error?: string;
  }[];
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  profile?: ProfileSummary;
}

interface LeaveResult {
  leavers: number;
  probes: number;
  /** Server side: from the last disconnect to the change that brought the count to the probes alone. */
  countSettledMs: number | null;
  /** The same as /online.json showed it to a poller (10 ms granularity). */
  jsonShowedMs: number | null;
  /** Until every probe viewer held the frame for the probes' count. */
  probeFrameMs: number | null;
  /** After the probes also left: until the count was 0. */
  zeroAfterProbesMs: number | null;
  /** Server CPU from the leave until the count and the probes' frame had settled. */
  cpuSeconds: number;
  profile?: ProfileSummary;
}

/** The floor's leave storm: until its last connection has closed. */
async function floorLeave(child: Child, n: number, clients: Clients) {
  const cpuBefore = cpuSeconds(child.pid);
  const lastDisconnectAt = await clients.leave();
  let closedAt: number | undefined;
  await until(async () => {
    const { count } = await child.call('usage');
    if (count === 0) closedAt = now();
    return count === 0;
  }, 15_000);
  return { leavers: n, closedMs: closedAt === undefined ? null : round(closedAt - lastDisconnectAt), cpuSeconds: round(cpuSeconds(child.pid) - cpuBefore, 2) };
}

async function runStorm(kind: Kind, n: number, clients: Clients, options: BenchOptions, deep: boolean, log: (line: string) => void) {
  const { child, ready } = await Child.start(kind === 'server' ? 'server-child.ts' : 'floor-child.ts', kind, {
    env: {
      BENCH_FLOOR_EXPRESS: kind === 'express floor' ? '1' : '',
      BENCH_BACKLOG: String(options.backlog),
      BENCH_MAX_CONNECTIONS: String(maxConnectionsFor(options)),
      BENCH_COUNTER_OPTIONS: options.counterOptions,
    },
  });
  const port = ready.port as number;
  try {
    if (kind !== 'server') await child.call('frame', { png: pngFor(n) });
    await sleep(500);
    const idle = await memory(child);
    const before = kind === 'server' ? await child.call('usage', { resetLoopDelay: true }) : undefined;
    const profiling = options.profile && kind === 'server' && deep;
    if (profiling) await child.call('profileStart', { intervalMicros: 250 });
    const cpuBefore = cpuSeconds(child.pid);
    const clientCpuBefore = clients.cpuSeconds();

    let target = hashFor(n);
    const tcpBefore = tcpCounters();
    const opened = await clients.open(port, n, target, options.settleTimeoutMs);
    const tcpAfter = tcpCounters();
    // A viewer the kernel reset while the listen queue overflowed never reached the server:
    // the others are to show the count of those connected, not N.
    if (opened.connected !== n && kind === 'server') {
      target = hashFor(opened.connected);
      await clients.target(target);
    }
    const settledAt = await clients.waitSettled(Math.max(0, opened.startAt + options.settleTimeoutMs - now()));
    const cpuAfter = cpuSeconds(child.pid);
    const clientCpuAfter = clients.cpuSeconds();
    const rssAtSettle = rssBytes(child.pid);
    let profile: ProfileSummary | undefined;
    if (profiling) {
      const { file } = await child.call('profileStop', { dir: options.profileDir, name: `join-storm-${n}` });
      profile = { ...summariseProfile(file as string), processCpuMs: round((cpuAfter - cpuBefore) * 1000) };
    }
    await sleep(250);
    const held = await clients.heldSince(target);
    const times = held.filter((time): time is number => time !== null);
    const after = kind === 'server' ? await child.call('usage') : undefined;
    const perViewer = await clients.stats();

    const result: StormResult = {
      kind,
      n,
      connected: opened.connected,
      errors: opened.errors,
      connectMs: round(opened.lastConnectAt - opened.startAt),
      settleMs: settledAt !== undefined && times.length === opened.connected ? round(Math.max(...times) - opened.lastConnectAt) : null,
      holding: times.length,
      cpuSeconds: round(cpuAfter - cpuBefore, 2),
      clientCpuSeconds: round(clientCpuAfter - clientCpuBefore, 2),
      rssIdleMB: round(idle.rss / MB),
      rssAtSettleMB: round(rssAtSettle / MB),
      rssPerStreamAtSettleKB: round((rssAtSettle - idle.rss) / Math.max(1, opened.connected) / 1024, 2),
      renders: before && after ? (after.renders as number) - (before.renders as number) : null,
      writesPerViewer: before && after ? round(((after.writes as number) - (before.writes as number)) / n, 2) : null,
      writtenKBPerViewer: before && after ? round(((after.writtenBytes as number) - (before.writtenBytes as number)) / n / 1024, 2) : null,
      framesSeen: perViewer.framesSeen,
      loopDelayMaxMs: after ? round(after.loopDelayMaxMs as number) : null,
      listenOverflows: tcpAfter.listenOverflows - tcpBefore.listenOverflows,
      synRetransmits: tcpAfter.synRetransmits - tcpBefore.synRetransmits,
      serverDisconnects: before && after ? (after.disconnects as number) - (before.disconnects as number) : null,
      perViewer,
    };
    log(stormRow(result));

    const extra: Deep = {};
    if (deep) {
      // Quiet: only keep-alives and heartbeats. Their CPU, then memory after a collection.
      await sleep(1000);
      const quietProfiled = options.profile && kind === 'server';
      if (quietProfiled) await child.call('profileStart', { intervalMicros: 250 });
      const quietFrom = { cpu: cpuSeconds(child.pid), at: now() };
      await sleep(3000);
      const quietCpu = cpuSeconds(child.pid) - quietFrom.cpu;
      const cpuPercent = round((100 * quietCpu * 1000) / (now() - quietFrom.at));
      if (quietProfiled) {
        const { file } = await child.call('profileStop', { dir: options.profileDir, name: `steady-${n}` });
        extra.steadyProfile = { ...summariseProfile(file as string), processCpuMs: round(quietCpu * 1000) };
      }
      const steady = await memory(child);
      extra.steady = { n, streams: result.connected, cpuPercent, idleRssMB: round(idle.rss / MB), idleHeapMB: round(idle.heapUsed / MB), ...perStream(steady, idle, Math.max(1, result.connected)) };
      log(`  steady state, ${kind}: ${result.connected} streams, RSS ${extra.steady.rssKB} KB/stream, heap ${extra.steady.heapKB} KB/stream (idle RSS ${extra.steady.idleRssMB} MB), CPU ${cpuPercent} % of a core`);
      if (kind === 'server') {
        const probes: BenchViewer[] = [];
        try {
          extra.fanout = await fanout(child, port, result.connected, clients, probes, options);
          log(fanoutRow(extra.fanout));
          extra.leave = await leaveStorm(child, port, result.connected, clients, probes, options);
          log(leaveRow(extra.leave));
        } finally {
          for (const probe of probes) probe.close();
        }
      } else {
        extra.floorLeave = await floorLeave(child, n, clients);
        log(`  leave storm, floor: ${n} leave; all closed after ${fmt(extra.floorLeave.closedMs)} ms (polled over IPC), CPU ${fmt(extra.floorLeave.cpuSeconds, 2)} s`);
      }
    }
    await clients.leave();
    return { storm: result, ...extra, profile };
  } finally {
    await child.stop();
  }
}

/** With `n` streams open, one viewer joins at a time; how long until every open stream holds the new frame. */
async function fanout(child: Child, port: number, connected: number, clients: Clients, probes: BenchViewer[], options: BenchOptions): Promise<FanoutResult> {
  const n = connected;
  const hashes = new HashTable();
  const rounds: FanoutResult['rounds'] = [];
  const all: number[] = [];
  const profiles: string[] = [];
  let profiledCpu = 0;
  for (let step = 1; step <= options.fanoutRounds; step++) {
    // Past the coalescing window, so the change is broadcast at once.
    await sleep(1500);
    // The count before the join: every connected viewer and the probes so far, once the server agrees.
    const expectedBefore = connected + probes.length;
    await until(async () => ((await child.call('usage')).count as number) === expectedBefore, 10_000, 20);
    const count = ((await child.call('usage')).count as number) + 1;
    const target = hashFor(count);
    await clients.target(target);
    const before = await child.call('usage');
    // Each round is profiled from just before the join until every stream holds the new frame.
    if (options.profile) await child.call('profileStart', { intervalMicros: 100 });
    const cpuBefore = cpuSeconds(child.pid);
    const probe = new BenchViewer(hashes);
    probes.push(probe);
    await new Promise<void>((resolve) => probe.open({ port, path: '/online.png', localAddress: clients.address() }, () => resolve()));
    const settled = await clients.waitSettled(15_000);
    profiledCpu += cpuSeconds(child.pid) - cpuBefore;
    if (options.profile) profiles.push((await child.call('profileStop', { dir: options.profileDir, name: `fanout-${n}-round-${step}` })).file as string);
    await sleep(100);
    const held = await clients.heldSince(target);
    const usage = (await child.call('usage')) as Message & { lastChange: { count: number; at: number }; lastFrameWriteAt: number };
    const { lastChange } = usage;
    if (lastChange.count !== count || probe.error) {
      // Something else changed the count (a viewer dropped?): say what, and go on.
      rounds.push({
        from: count - 1,
        to: count,
        error: `the server's last change was to ${lastChange.count} (connects ${usage.connects}, disconnects ${usage.disconnects}, ${(usage.disconnects as number) - (before.disconnects as number)} during the round); the joiner: ${probe.error ?? `status ${probe.status}`}`,
      } as FanoutResult['rounds'][number]);
      continue;
    }
    const latencies = held.filter((time): time is number => time !== null).map((time) => time - lastChange.at);
    all.push(...latencies);
    const d = distribution(latencies);
    rounds.push({
      from: count - 1,
      to: count,
      heldBy: settled === undefined ? latencies.length : n,
      p50Ms: d.p50,
      p99Ms: d.p99,
      maxMs: d.max,
      serverWritesDoneMs: round(usage.lastFrameWriteAt - lastChange.at),
      writesPerStream: round(((usage.frameWrites as number) - (before.frameWrites as number)) / n, 2),
      joinerFirstFrameShowsCount: probe.firstHash === target,
    });
  }
  const profile = profiles.length > 0 ? { ...summariseProfile(profiles), processCpuMs: round(profiledCpu * 1000) } : undefined;
  const d = distribution(all);
  return { streams: n, coalescingWindowMs: coalescingWindowMs(n), rounds, p50Ms: d.p50, p99Ms: d.p99, maxMs: d.max, profile };
}

/**
 * Every client viewer leaves at once; the probe viewers from the fan-out stay, so
 * "count 0 and frame 0" is measured as "count = probes, and the probes' frame shows it".
 */
async function leaveStorm(child: Child, port: number, n: number, clients: Clients, probes: BenchViewer[], options: BenchOptions): Promise<LeaveResult> {
  const remaining = probes.length;
  const target = hashFor(remaining);
  let jsonAt: number | undefined;
  let polling = true;
  const poller = (async () => {
    while (polling && jsonAt === undefined) {
      try {
        const count = await readCount(port);
        if (count === remaining) jsonAt = now();
      } catch {
        // The server is busy closing streams; try again.
      }
      await sleep(10);
    }
  })();
  if (options.profile) await child.call('profileStart', { intervalMicros: 250 });
  const cpuBefore = cpuSeconds(child.pid);
  const lastDisconnectAt = await clients.leave();
  const probeHolds = () => probes.every((probe) => probe.currentHash === target);
  const done = await until(() => jsonAt !== undefined && probeHolds(), 15_000);
  const cpu = cpuSeconds(child.pid) - cpuBefore;
  polling = false;
  await poller;
  const profile = options.profile
    ? { ...summariseProfile((await child.call('profileStop', { dir: options.profileDir, name: `leave-storm-${n}` })).file as string), processCpuMs: round(cpu * 1000) }
    : undefined;
  const { lastChange } = (await child.call('usage')) as Message & { lastChange: { count: number; at: number } };
  const probeFrameAt = Math.max(...probes.map((probe) => probe.heldSince));
  const result: LeaveResult = {
    leavers: n,
    probes: remaining,
    countSettledMs: lastChange.count === remaining ? round(lastChange.at - lastDisconnectAt) : null,
    jsonShowedMs: jsonAt !== undefined ? round(jsonAt - lastDisconnectAt) : null,
    probeFrameMs: done ? round(probeFrameAt - lastDisconnectAt) : null,
    zeroAfterProbesMs: null,
    cpuSeconds: round(cpu, 2),
    profile,
  };
  const closedAt = now();
  for (const probe of probes.splice(0)) probe.close();
  if (await until(async () => (await readCount(port)) === 0, 10_000, 10)) result.zeroAfterProbesMs = round(now() - closedAt);
  return result;
}

/** Frame size and render speed of the default image, in this process. */
async function frameScenario() {
  const format = new MultipartFormat();
  const counts = [0, 7, 42, 999, 1000, 10_000, 123_456];
  const sizes = counts.map((count) => ({ count, pngBytes: pngFor(count).length, wireBytes: format.frame(count, pngFor(count)).wire.length }));
  const measure = async (render: (count: number) => Buffer | Promise<Buffer>) => {
    let done = 0;
    const start = now();
    while (now() - start < 1500) await render(20_000 + done++);
    return round((done * 1000) / (now() - start));
  };
  await measure((count) => renderer.renderSync!(count)); // warm-up
  const rendersPerSecondSync = await measure((count) => renderer.renderSync!(count));
  const rendersPerSecondAsync = await measure((count) => renderer.render(count));
  return {
    image: { width: image.width, height: image.height, font: image.font, color: image.color, background: image.background },
    sizes,
    maxPngBytes: Math.max(...sizes.map((size) => size.pngBytes)),
    rendersPerSecondSync,
    rendersPerSecondAsync,
  };
}

// ---------------------------------------------------------------- output

function fmt(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  return value.toFixed(digits);
}

const STORM_HEADER =
  '| server | N | connected | connect ms (p50/p99 per viewer) | listen overflows | settle ms | changes/viewer mean (max) | max changes in 1 s | keep-alives mean | KB/viewer mean (max) | writes/viewer | CPU s (clients) | renders | frames seen | RSS at settle MB | loop delay max ms |';
const STORM_RULE = '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|';

function stormRow(r: StormResult): string {
  const v = r.perViewer;
  const dropped = r.serverDisconnects ? ` (${r.serverDisconnects} dropped)` : '';
  return `| ${r.kind} | ${r.n} | ${r.connected}${dropped} | ${fmt(r.connectMs)} (${fmt(v.connectDelayMs.p50)}/${fmt(v.connectDelayMs.p99)}) | ${fmt(r.listenOverflows)} | ${fmt(r.settleMs)}${r.settleMs === null ? ` (${r.holding} hold N)` : ''} | ${fmt(v.changes.mean, 2)} (${fmt(v.changes.max)}) | ${fmt(v.maxChangesPerSecond.max)} | ${fmt(v.keepAlives.mean, 2)} | ${fmt(v.bytes.mean / 1024, 2)} (${fmt(v.bytes.max / 1024, 2)}) | ${fmt(r.writesPerViewer, 2)} | ${fmt(r.cpuSeconds, 2)} (${fmt(r.clientCpuSeconds, 2)}) | ${fmt(r.renders)} | ${r.framesSeen} | ${fmt(r.rssAtSettleMB)} | ${fmt(r.loopDelayMaxMs)} |`;
}

function fanoutRow(f: FanoutResult): string {
  const rounds = f.rounds.map((r) => r.error ? `${r.from}→${r.to}: not measured, ${r.error}` : `${r.from}→${r.to}: p50 ${fmt(r.p50Ms)} / p99 ${fmt(r.p99Ms)} / max ${fmt(r.maxMs)} ms, server done writing at ${fmt(r.serverWritesDoneMs)} ms, ${fmt(r.writesPerStream, 2)} frame writes/stream${r.joinerFirstFrameShowsCount ? '' : ' (joiner first frame not N)'}`);
  return `  fan-out to ${f.streams} streams (window ${f.coalescingWindowMs} ms): p50 ${fmt(f.p50Ms)} ms, p99 ${fmt(f.p99Ms)} ms, max ${fmt(f.maxMs)} ms  [${rounds.join('; ')}]`;
}

function leaveRow(l: LeaveResult): string {
  return `  leave storm, ${l.leavers} leave (${l.probes} probes stay): count settled ${fmt(l.countSettledMs)} ms (server), /online.json ${fmt(l.jsonShowedMs)} ms, probes show ${l.probes} after ${fmt(l.probeFrameMs)} ms, CPU ${fmt(l.cpuSeconds, 2)} s; probes leave → 0 in ${fmt(l.zeroAfterProbesMs)} ms`;
}

/** The commit measured, and whether lib/ differed from it (others may be editing it). */
function revision() {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: path.resolve(__dirname, '..'), encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  };
  return { commit: git(['rev-parse', '--short', 'HEAD']), libModified: (git(['status', '--porcelain', '--', 'lib']) ?? '') !== '' };
}

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    nproc: os.availableParallelism(),
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    memoryGB: round(os.totalmem() / 1024 ** 3),
    loadAverageAtStart: os.loadavg().map((load) => round(load, 2)),
    loadAverageAtEnd: [] as number[],
    platform: `${os.type()} ${os.release()}`,
    ...revision(),
  };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const log = (line: string) => console.log(line);
  const info = machine();
  log(`express-user-counter benchmark — ${info.nproc} × ${info.cpu}, Node ${info.node}, load ${info.loadAverageAtStart.join(' ')}; commit ${info.commit}${info.libModified ? ' with lib/ modified' : ''}`);

  const frame = await frameScenario();
  log(`frame: default image ${frame.image.width}×${frame.image.height}, PNG ${frame.sizes.map((s) => `${s.count}: ${s.pngBytes} B`).join(', ')}; ${frame.rendersPerSecondSync} renders/s (sync), ${frame.rendersPerSecondAsync} renders/s (async, one at a time)`);

  const maxN = Math.max(...options.sizes);
  const clients = await Clients.start(Math.max(1, Math.ceil(maxN / options.perWorker)));
  log(`${clients.workers.length} client process(es); backlog ${options.backlog}\n`);
  log(STORM_HEADER);
  log(STORM_RULE);
  const runs: { n: number; server: Awaited<ReturnType<typeof runStorm>>; floor?: Awaited<ReturnType<typeof runStorm>> }[] = [];
  let expressFloor: Awaited<ReturnType<typeof runStorm>> | undefined;
  try {
    for (const n of options.sizes) {
      const deep = n === maxN;
      const server = await runStorm('server', n, clients, options, deep, log);
      const floor = options.floor ? await runStorm('floor', n, clients, options, deep, log) : undefined;
      runs.push({ n, server, floor });
    }
    if (options.expressFloor) expressFloor = await runStorm('express floor', maxN, clients, options, true, log);
  } finally {
    await clients.stop();
    jsonAgent.destroy();
  }

  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a != null && b != null && b > 0 ? round(a / b, 2) : null);
  const joinStorms = runs.map(({ n, server, floor }) => ({
    n,
    server: server.storm,
    floor: floor?.storm,
    ratios: {
      connect: ratio(server.storm.connectMs, floor?.storm.connectMs),
      cpu: ratio(server.storm.cpuSeconds, floor?.storm.cpuSeconds),
      rssAtSettlePerStream: ratio(server.storm.rssPerStreamAtSettleKB, floor?.storm.rssPerStreamAtSettleKB),
    },
  }));
  const deepRun = runs.find((run) => run.n === maxN)!;
  const steady = {
    server: deepRun.server.steady,
    floor: deepRun.floor?.steady,
    ratios: { rssPerStream: ratio(deepRun.server.steady?.rssKB, deepRun.floor?.steady?.rssKB), heapPerStream: ratio(deepRun.server.steady?.heapKB, deepRun.floor?.steady?.heapKB) },
  };
  // What Express alone costs against the bare floor, and the counter against Express alone.
  const expressFloorRatios = expressFloor && deepRun.floor
    ? {
        n: maxN,
        storm: expressFloor.storm,
        steady: expressFloor.steady,
        toFloor: {
          connect: ratio(expressFloor.storm.connectMs, deepRun.floor.storm.connectMs),
          cpu: ratio(expressFloor.storm.cpuSeconds, deepRun.floor.storm.cpuSeconds),
          rssPerStream: ratio(expressFloor.steady?.rssKB, deepRun.floor.steady?.rssKB),
        },
        counterTo: {
          connect: ratio(deepRun.server.storm.connectMs, expressFloor.storm.connectMs),
          cpu: ratio(deepRun.server.storm.cpuSeconds, expressFloor.storm.cpuSeconds),
          rssPerStream: ratio(deepRun.server.steady?.rssKB, expressFloor.steady?.rssKB),
        },
      }
    : undefined;
  const results = {
    machine: info,
    options: { quick: options.quick, sizes: options.sizes, backlog: options.backlog, maxConnections: maxConnectionsFor(options), counterOptions: JSON.parse(options.counterOptions) as object, clientProcesses: clients.workers.length, fanoutRounds: options.fanoutRounds },
    joinStorms,
    steady,
    expressFloor: expressFloorRatios,
    fanout: deepRun.server.fanout,
    leave: deepRun.server.leave,
    floorLeave: deepRun.floor?.floorLeave,
    frame,
    profiles: options.profile
      ? { joinStorm: deepRun.server.profile, steady: deepRun.server.steadyProfile, fanout: deepRun.server.fanout?.profile, leaveStorm: deepRun.server.leave?.profile }
      : undefined,
    targets: [] as { target: string; measured: string; pass: boolean | null }[],
    durationSeconds: 0,
  };
  results.targets = targets(results, maxN);
  results.durationSeconds = round((Date.now() - started) / 1000);
  info.loadAverageAtEnd = os.loadavg().map((load) => round(load, 2));

  log('\n## Ratios to the floor');
  log('| N | connect | CPU | RSS/stream at settle |');
  log('|--:|--:|--:|--:|');
  for (const s of joinStorms) log(`| ${s.n} | ${fmt(s.ratios.connect, 2)}× | ${fmt(s.ratios.cpu, 2)}× | ${fmt(s.ratios.rssAtSettlePerStream, 2)}× |`);
  log(`\nSteady state at ${maxN} (${fmt(steady.server?.streams)} streams open on the counter, ${fmt(steady.floor?.streams)} on the floor): server RSS ${fmt(steady.server?.rssKB, 2)} KB/stream, heap ${fmt(steady.server?.heapKB, 2)} KB/stream; floor RSS ${fmt(steady.floor?.rssKB, 2)} KB/stream, heap ${fmt(steady.floor?.heapKB, 2)} KB/stream; ratio RSS ${fmt(steady.ratios.rssPerStream, 2)}×; CPU while quiet: server ${fmt(steady.server?.cpuPercent, 1)} %, floor ${fmt(steady.floor?.cpuPercent, 1)} %`);
  if (expressFloorRatios) {
    const { toFloor, counterTo, steady: expressSteady } = expressFloorRatios;
    log(`\nThe Express floor at ${maxN} (an Express app whose one middleware does what the floor does): RSS ${fmt(expressSteady?.rssKB, 2)} KB/stream, heap ${fmt(expressSteady?.heapKB, 2)} KB/stream.`);
    log('| | connect | CPU | RSS/stream (steady) |');
    log('|---|--:|--:|--:|');
    log(`| Express floor ÷ floor | ${fmt(toFloor.connect, 2)}× | ${fmt(toFloor.cpu, 2)}× | ${fmt(toFloor.rssPerStream, 2)}× |`);
    log(`| counter ÷ Express floor | ${fmt(counterTo.connect, 2)}× | ${fmt(counterTo.cpu, 2)}× | ${fmt(counterTo.rssPerStream, 2)}× |`);
  }
  log('\n## Targets (issue 3)');
  for (const t of results.targets) log(`- ${t.pass === null ? 'n/a ' : t.pass ? 'PASS' : 'FAIL'} ${t.target}: ${t.measured}`);
  if (options.profile) {
    for (const profile of [deepRun.server.profile, deepRun.server.steadyProfile, deepRun.server.fanout?.profile, deepRun.server.leave?.profile]) if (profile) log(`\n${formatProfileSummary({ ...profile, bySelf: profile.bySelf.slice(0, 15), byTotal: profile.byTotal.slice(0, 15) })}`);
  }
  log(`\n${JSON.stringify(results, null, 2)}`);
  if (options.json) writeFileSync(options.json, `${JSON.stringify(results, null, 2)}\n`);
  log(`\ndone in ${results.durationSeconds} s`);
}

type Results = {
  joinStorms: { n: number; server: StormResult; floor?: StormResult; ratios: { connect: number | null; cpu: number | null } }[];
  steady: { ratios: { rssPerStream: number | null } };
  expressFloor?: { toFloor: { cpu: number | null; rssPerStream: number | null } };
  fanout?: FanoutResult;
  leave?: LeaveResult;
  frame: { maxPngBytes: number };
};

function targets(results: Results, maxN: number) {
  const list: { target: string; measured: string; pass: boolean | null }[] = [];
  const add = (target: string, measured: string, pass: boolean | null) => list.push({ target, measured, pass });
  const big = results.joinStorms.find((s) => s.n === maxN)!;
  // The targets for 10 000 streams are judged only when 10 000 was measured.
  const full = maxN === 10_000;
  const label = full ? '10 000' : `${maxN} (n/a: the target is for 10 000)`;
  const judge = (pass: boolean | null) => (full ? pass : null);
  const partial = big.server.connected < big.n ? ` (${big.server.connected} of ${big.n} connected within the timeout; ${JSON.stringify(big.server.errors)})` : '';
  add(`join storm at ${label}: every viewer shows N within 1 s of the last connect`, `${fmt(big.server.settleMs)} ms${partial}`, judge(big.server.settleMs !== null && big.server.settleMs <= 1000));
  add(
    `join storm at ${label}: at most about one frame per second beyond the first and keep-alives (≤ 2 changes in any sliding 1 s, for delivery jitter)`,
    `max ${fmt(big.server.perViewer.maxChangesPerSecond.max)} in 1 s; ${fmt(big.server.perViewer.changes.mean, 2)} changes/viewer mean, ${fmt(big.server.perViewer.changes.max)} max`,
    judge(big.server.perViewer.maxChangesPerSecond.max <= 2),
  );
  const expressCpu = results.expressFloor ? `; the Express floor: ${fmt(results.expressFloor.toFloor.cpu, 2)}×` : '';
  add(`join storm at ${label}: server CPU ≤ 3× the floor's`, `${fmt(big.ratios.cpu, 2)}× (${fmt(big.server.cpuSeconds, 2)} s vs ${fmt(big.floor?.cpuSeconds, 2)} s${expressCpu})`, big.ratios.cpu === null ? null : judge(big.ratios.cpu <= 3));
  add(`join storm at ${label}: connect phase ≤ 2× the floor's`, `${fmt(big.ratios.connect, 2)}× (${fmt(big.server.connectMs)} ms vs ${fmt(big.floor?.connectMs)} ms)`, big.ratios.connect === null ? null : judge(big.ratios.connect <= 2));
  const small = results.joinStorms.find((s) => s.n === 1000);
  if (small) add('join storm at 1000: settled within 500 ms of the last connect', `${fmt(small.server.settleMs)} ms`, small.server.settleMs !== null && small.server.settleMs <= 500);
  const rss = results.steady.ratios.rssPerStream;
  const express = results.expressFloor;
  const expressNote = express ? `; an Express app that does only what the floor does: ${fmt(express.toFloor.rssPerStream, 2)}×` : '';
  add(`RSS per stream at ${label} ≤ 1.5× the floor's`, `${fmt(rss, 2)}×${expressNote}`, rss === null ? null : judge(rss <= 1.5));
  if (results.fanout) {
    const limit = results.fanout.coalescingWindowMs + 50;
    add(`fan-out of one change to ${label} streams: p99 ≤ coalescing window + 50 ms (${limit} ms)`, `p99 ${fmt(results.fanout.p99Ms)} ms (p50 ${fmt(results.fanout.p50Ms)}, max ${fmt(results.fanout.maxMs)})`, judge(results.fanout.p99Ms <= limit));
  }
  if (results.leave) {
    const l = results.leave;
    const worst = Math.max(l.countSettledMs ?? Infinity, l.jsonShowedMs ?? Infinity, l.probeFrameMs ?? Infinity);
    add(`leave storm of ${label}: count and frame settled within 1 s of the last disconnect`, `count ${fmt(l.countSettledMs)} ms (JSON ${fmt(l.jsonShowedMs)} ms), probe frame ${fmt(l.probeFrameMs)} ms`, judge(worst <= 1000));
  }
  add('default frame ≤ 1.2 KB', `${results.frame.maxPngBytes} B (largest of the sampled counts)`, results.frame.maxPngBytes <= 1200);
  return list;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
