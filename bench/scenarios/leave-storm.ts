import type { Clients } from '../clients.js';
import { hashFor } from '../expected-frames.js';
import { cpuSeconds, now, sleep, until } from '../ipc.js';
import type { Message } from '../ipc.js';
import type { BenchOptions } from '../options.js';
import { summariseProfile } from '../profile-summary.js';
import type { ProfileSummary } from '../profile-summary.js';
import { readCount } from '../servers.js';
import type { RunningServer } from '../servers.js';
import { round } from '../statistics.js';
import type { BenchViewer } from '../viewer.js';

/** The counter's leave storm: how soon the count, /online.json and the probes' frame showed that everyone left. */
export interface LeaveResult {
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

/** The floor's leave storm: until its last connection had closed. */
export interface FloorLeaveResult {
  leavers: number;
  closedMs: number | null;
  cpuSeconds: number;
}

/** Every viewer leaves the floor at once; until its last connection has closed (polled over IPC). */
export async function floorLeave(server: RunningServer, n: number, clients: Clients): Promise<FloorLeaveResult> {
  const { child } = server;
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

/**
 * Every client viewer leaves at once; the probe viewers from the fan-out stay, so
 * "count 0 and frame 0" is measured as "count = probes, and the probes' frame shows it".
 */
export async function leaveStorm(server: RunningServer, n: number, clients: Clients, probes: BenchViewer[], options: BenchOptions): Promise<LeaveResult> {
  const { child, port } = server;
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
