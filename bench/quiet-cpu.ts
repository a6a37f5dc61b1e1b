import { cpuSeconds, now, sleep } from './ipc.js';
import type { BenchOptions } from './options.js';
import { summariseProfile } from './profile-summary.js';
import type { ProfileSummary } from './profile-summary.js';
import type { RunningServer } from './servers.js';
import { round } from './statistics.js';

/** What a server spent while nothing changed: only keep-alives and heartbeats (the counter), nothing (the floors), or as many writes as the counter's (the floor, asked to). */
export interface QuietCpu {
  /** The windows measured one after another, in seconds each. */
  seconds: number;
  /** CPU used, as % of one core: the median window. */
  cpuPercent: number;
  /** Every window's, in order. */
  windows: number[];
  /** The same for 10 000 streams (scaled by the streams open): issue 23's goals are per 10 000. */
  cpuPercentPer10000: number;
  /** Writes to sockets per second in the server's process. */
  writesPerSecond: number | null;
}

/**
 * Windows measured: the median leaves out a one-off. The storm's garbage is collected before the
 * first (V8's memory reducer would collect it some 10–30 s after the storm, about 0.4 s of CPU,
 * and it once fell into two windows of three).
 */
const WINDOWS = 3;

/**
 * The server's CPU over WINDOWS windows of `options.idleSeconds` each, with `streams` streams
 * open and nothing changing; the median window counts. /proc counts CPU in 10 ms ticks: 10 s
 * resolve 0.1 % of a core. Profiled with `--profile` (the counter only) as `<name>.cpuprofile`.
 */
export async function quietCpu(server: RunningServer, streams: number, options: BenchOptions, name: string): Promise<{ quiet: QuietCpu; profile?: ProfileSummary }> {
  const { kind, child } = server;
  const profiled = options.profile && kind === 'server';
  await child.call('usage', { gc: true });
  await sleep(500);
  if (profiled) await child.call('profileStart', { intervalMicros: 250 });
  const before = await child.call('usage');
  const windows: number[] = [];
  const from = { cpu: cpuSeconds(child.pid), at: now() };
  let last = from;
  for (let i = 0; i < WINDOWS; i++) {
    await sleep(options.idleSeconds * 1000);
    const at = { cpu: cpuSeconds(child.pid), at: now() };
    windows.push(round((100 * (at.cpu - last.cpu) * 1000) / (at.at - last.at), 2));
    last = at;
  }
  const cpu = last.cpu - from.cpu;
  const seconds = (last.at - from.at) / 1000;
  const after = await child.call('usage');
  let profile: ProfileSummary | undefined;
  if (profiled) {
    const { file } = await child.call('profileStop', { dir: options.profileDir, name });
    profile = { ...summariseProfile(file as string), processCpuMs: round(cpu * 1000) };
  }
  const cpuPercent = [...windows].sort((a, b) => a - b)[Math.floor(WINDOWS / 2)];
  const quiet: QuietCpu = {
    seconds: round(seconds / WINDOWS, 1),
    cpuPercent,
    windows,
    cpuPercentPer10000: round((cpuPercent * 10_000) / Math.max(1, streams), 2),
    writesPerSecond: typeof after.writes === 'number' ? round((after.writes - (before.writes as number)) / seconds) : null,
  };
  return { quiet, profile };
}
