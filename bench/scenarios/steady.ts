import { sleep } from '../ipc.js';
import type { BenchOptions } from '../options.js';
import type { ProfileSummary } from '../profile-summary.js';
import { quietCpu } from '../quiet-cpu.js';
import type { QuietCpu } from '../quiet-cpu.js';
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
  /** The quiet window in full: its length, CPU per 10 000 streams, writes per second. */
  quiet: QuietCpu;
  /** The floor only: the same windows again while it re-sends its frame as often as the counter wrote at rest. */
  withKeepAlives?: QuietCpu;
  idleRssMB: number;
  idleHeapMB: number;
}

/**
 * 1 s after the storm, `--idle-seconds` in which nothing changes (only keep-alives and
 * heartbeats): the server's CPU, then its memory after a collection against `idle`. The
 * counter's quiet is profiled with `--profile`. Given `writesPerSecond` (the counter's at rest),
 * the floor is measured once more while it writes as many keep-alives: what those writes cost
 * with nothing else.
 */
export async function steadyState(server: RunningServer, n: number, streams: number, idle: Memory, options: BenchOptions, writesPerSecond?: number): Promise<{ steady: SteadyResult; profile?: ProfileSummary }> {
  await sleep(1000);
  const { quiet, profile } = await quietCpu(server, streams, options, `steady-${n}`);
  const at = await memory(server.child);
  const steady: SteadyResult = { n, streams, cpuPercent: quiet.cpuPercent, quiet, idleRssMB: round(idle.rss / MB), idleHeapMB: round(idle.heapUsed / MB), ...perStream(at, idle, Math.max(1, streams)) };
  if (server.kind === 'floor' && writesPerSecond) {
    await server.child.call('keepAlives', { perSecond: writesPerSecond });
    steady.withKeepAlives = (await quietCpu(server, streams, options, `steady-${n}-keep-alives`)).quiet;
    await server.child.call('keepAlives', { perSecond: 0 });
  }
  return { steady, profile };
}
