import { cpuSeconds, now, sleep } from '../ipc.js';
import type { BenchOptions } from '../options.js';
import { summariseProfile } from '../profile-summary.js';
import type { ProfileSummary } from '../profile-summary.js';
import { memory, perStream } from '../servers.js';
import type { Memory, MemoryPerStream, RunningServer } from '../servers.js';
import { MB, round } from '../statistics.js';

/** The quiet after a storm: memory per open stream, and the CPU that keep-alives and heartbeats cost. */
export interface SteadyResult extends MemoryPerStream {
  n: number;
  /** The viewers that connected (per-stream figures are divided by it). */
  streams: number;
  /** CPU of one core used with the streams open and nothing changing (heartbeats, keep-alives). */
  cpuPercent: number;
  idleRssMB: number;
  idleHeapMB: number;
}

/**
 * 1 s after the storm, 3 s in which nothing changes (only keep-alives and heartbeats):
 * the server's CPU, then its memory after a collection against `idle`. The counter's
 * quiet is profiled with `--profile`.
 */
export async function steadyState(server: RunningServer, n: number, streams: number, idle: Memory, options: BenchOptions): Promise<{ steady: SteadyResult; profile?: ProfileSummary }> {
  const { kind, child } = server;
  await sleep(1000);
  const profiled = options.profile && kind === 'server';
  if (profiled) await child.call('profileStart', { intervalMicros: 250 });
  const quietFrom = { cpu: cpuSeconds(child.pid), at: now() };
  await sleep(3000);
  const quietCpu = cpuSeconds(child.pid) - quietFrom.cpu;
  const cpuPercent = round((100 * quietCpu * 1000) / (now() - quietFrom.at));
  let profile: ProfileSummary | undefined;
  if (profiled) {
    const { file } = await child.call('profileStop', { dir: options.profileDir, name: `steady-${n}` });
    profile = { ...summariseProfile(file as string), processCpuMs: round(quietCpu * 1000) };
  }
  const at = await memory(child);
  const steady = { n, streams, cpuPercent, idleRssMB: round(idle.rss / MB), idleHeapMB: round(idle.heapUsed / MB), ...perStream(at, idle, Math.max(1, streams)) };
  return { steady, profile };
}
