import { coalescingWindowMs } from '../../lib/frames/broadcast-pacing.js';
import type { Clients } from '../clients.js';
import { hashFor } from '../expected-frames.js';
import { HashTable } from '../frame-hash.js';
import { cpuSeconds, sleep, until } from '../ipc.js';
import type { Message } from '../ipc.js';
import type { BenchOptions } from '../options.js';
import { summariseProfile } from '../profile-summary.js';
import type { ProfileSummary } from '../profile-summary.js';
import type { RunningServer } from '../servers.js';
import { distribution, round } from '../statistics.js';
import { BenchViewer } from '../viewer.js';

/** How long one change took to reach every open stream, per round and over all rounds. */
export interface FanoutResult {
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

/**
 * With `connected` streams open, one viewer joins at a time (`--fanout-rounds`); how long
 * until every open stream holds the new frame. The joiners stay open in `probes`.
 */
export async function fanout(server: RunningServer, connected: number, clients: Clients, probes: BenchViewer[], options: BenchOptions): Promise<FanoutResult> {
  const { child, port } = server;
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
