import type { Clients, ViewerStats } from '../clients.js';
import { hashFor, pngFor } from '../expected-frames.js';
import { cpuSeconds, now, rssBytes, sleep, tcpCounters } from '../ipc.js';
import { summariseProfile } from '../profile-summary.js';
import type { ProfileSummary } from '../profile-summary.js';
import type { BenchOptions } from '../options.js';
import { memory } from '../servers.js';
import type { Kind, Memory, RunningServer } from '../servers.js';
import { MB, round } from '../statistics.js';
import type { ViewerBrowser } from '../viewer.js';

/** One join storm: what the server and the viewers did from the first connect until every viewer held the frame for N. */
export interface StormResult {
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
  perViewer: ViewerStats;
}

/**
 * All `n` viewers open at once against a fresh server, each a `browser`'s request (Chromium's
 * by default); resolves once every viewer holds the frame for N (or the settle timeout passed),
 * with the idle process's memory measured before. With `profiled`, the server's CPU profile of the storm (the floors' too, so that their areas compare).
 */
export async function joinStorm(server: RunningServer, n: number, clients: Clients, options: BenchOptions, profiled: boolean, browser: ViewerBrowser = 'chromium'): Promise<{ storm: StormResult; idle: Memory; profile?: ProfileSummary }> {
  const { kind, child, port } = server;
  if (kind !== 'server') await child.call('frame', { png: pngFor(n) });
  await sleep(500);
  const idle = await memory(child);
  const before = kind === 'server' ? await child.call('usage', { resetLoopDelay: true }) : undefined;
  if (profiled) await child.call('profileStart', { intervalMicros: 250 });
  const cpuBefore = cpuSeconds(child.pid);
  const clientCpuBefore = clients.cpuSeconds();

  let target = hashFor(n);
  const tcpBefore = tcpCounters();
  const opened = await clients.open(port, n, target, options.settleTimeoutMs, browser);
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
  if (profiled) {
    const prefix = kind === 'server' ? '' : `${kind.replace(' ', '-')}-`;
    const { file } = await child.call('profileStop', { dir: options.profileDir, name: `${prefix}join-storm-${n}` });
    profile = { ...summariseProfile(file as string), processCpuMs: round((cpuAfter - cpuBefore) * 1000) };
  }
  await sleep(250);
  const held = await clients.heldSince(target);
  const times = held.filter((time): time is number => time !== null);
  const after = kind === 'server' ? await child.call('usage', { stopLoopDelay: true }) : undefined;
  const perViewer = await clients.stats();

  const storm: StormResult = {
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
  return { storm, idle, profile };
}
