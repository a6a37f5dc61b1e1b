import type { Clients } from '../clients.js';
import { sleep } from '../ipc.js';
import type { BenchOptions } from '../options.js';
import type { ProfileSummary } from '../profile-summary.js';
import { quietCpu } from '../quiet-cpu.js';
import type { QuietCpu } from '../quiet-cpu.js';
import type { RunningServer } from '../servers.js';
import { joinStorm } from './join-storm.js';
import type { StormResult } from './join-storm.js';

/** Firefox's framing at rest: its join storm, and the quiet after it. */
export interface FirefoxIdleResult {
  storm: StormResult;
  quiet: QuietCpu;
  profile?: ProfileSummary;
}

/**
 * `n` viewers whose requests are Firefox's (so each stream gets heartbeat bytes besides the
 * keep-alives, lib/stream/stream-framing.ts) join a fresh counter at once; once every one holds the
 * frame for N, 1 s, then the CPU of `--idle-seconds` in which nothing changes.
 */
export async function firefoxIdle(server: RunningServer, n: number, clients: Clients, options: BenchOptions): Promise<FirefoxIdleResult> {
  const { storm } = await joinStorm(server, n, clients, options, false, 'firefox');
  await sleep(1000);
  const { quiet, profile } = await quietCpu(server, storm.connected, options, `firefox-idle-${n}`);
  return { storm, quiet, profile };
}
