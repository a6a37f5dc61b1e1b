import type { Comparisons } from './comparisons.js';
import type { Machine } from './machine.js';
import { formatProfileSummary } from './profile-summary.js';
import type { ProfileSummary } from './profile-summary.js';
import type { FanoutResult } from './scenarios/fanout.js';
import type { FirefoxIdleResult } from './scenarios/firefox-idle.js';
import type { FrameResult } from './scenarios/frame.js';
import type { StormResult } from './scenarios/join-storm.js';
import type { FloorLeaveResult, LeaveResult } from './scenarios/leave-storm.js';
import type { SteadyResult } from './scenarios/steady.js';
import type { Kind } from './servers.js';
import type { Target } from './targets.js';

/** The lines `npm run bench` prints (bench/README.md says what each figure means). */

/** `value` with `digits` decimals, or "—" when it was not measured. */
export function fmt(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  return value.toFixed(digits);
}

/** The first line: where and what was measured. */
export function machineLine(info: Machine): string {
  return `express-user-counter benchmark — ${info.nproc} × ${info.cpu}, Node ${info.node}, load ${info.loadAverageAtStart.join(' ')}; commit ${info.commit}${info.libModified ? ' with lib/ modified' : ''}`;
}

/** The frame scenario's line. */
export function frameLine(frame: FrameResult): string {
  return `frame: default image ${frame.image.width}×${frame.image.height}, PNG ${frame.sizes.map((s) => `${s.count}: ${s.pngBytes} B`).join(', ')}; ${frame.rendersPerSecondSync} renders/s (sync), ${frame.rendersPerSecondAsync} renders/s (async, one at a time)`;
}

/** The join storms' table: its header and rule, then a `stormRow` per storm. */
export const STORM_HEAD = [
  '| server | N | connected | connect ms (p50/p99 per viewer) | listen overflows | settle ms | changes/viewer mean (max) | max changes in 1 s | keep-alives mean | KB/viewer mean (max) | writes/viewer | CPU s (clients) | renders | frames seen | RSS at settle MB | loop delay max ms |',
  '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
];

/** One join storm as a row of the table; `browser` names the viewers' browser when it is not Chromium. */
export function stormRow(r: StormResult, browser?: string): string {
  const v = r.perViewer;
  const dropped = r.serverDisconnects ? ` (${r.serverDisconnects} dropped)` : '';
  return `| ${r.kind}${browser ? ` (${browser})` : ''} | ${r.n} | ${r.connected}${dropped} | ${fmt(r.connectMs)} (${fmt(v.connectDelayMs.p50)}/${fmt(v.connectDelayMs.p99)}) | ${fmt(r.listenOverflows)} | ${fmt(r.settleMs)}${r.settleMs === null ? ` (${r.holding} hold N)` : ''} | ${fmt(v.changes.mean, 2)} (${fmt(v.changes.max)}) | ${fmt(v.maxChangesPerSecond.max)} | ${fmt(v.keepAlives.mean, 2)} | ${fmt(v.bytes.mean / 1024, 2)} (${fmt(v.bytes.max / 1024, 2)}) | ${fmt(r.writesPerViewer, 2)} | ${fmt(r.cpuSeconds, 2)} (${fmt(r.clientCpuSeconds, 2)}) | ${fmt(r.renders)} | ${r.framesSeen} | ${fmt(r.rssAtSettleMB)} | ${fmt(r.loopDelayMaxMs)} |`;
}

/** The steady state after a storm, under its row. */
export function steadyRow(kind: Kind, s: SteadyResult): string {
  const writes = s.quiet.writesPerSecond === null ? '' : `, ${s.quiet.writesPerSecond} writes/s`;
  const k = s.withKeepAlives;
  const again = k ? `; writing ${fmt(k.writesPerSecond)} keep-alives a second as the counter did: ${k.cpuPercent} % (median of ${k.windows.join(', ')} %; ${k.cpuPercentPer10000} % per 10 000 streams)` : '';
  return `  steady state, ${kind}: ${s.streams} streams, RSS ${s.rssKB} KB/stream, heap ${s.heapKB} KB/stream (idle RSS ${s.idleRssMB} MB), CPU ${s.cpuPercent} % of a core (median of ${s.quiet.windows.join(', ')} % over ${s.quiet.seconds} s each; ${s.quiet.cpuPercentPer10000} % per 10 000 streams${writes})${again}`;
}

/** Firefox's framing at rest, under its storm's row. */
export function firefoxIdleRow({ quiet, storm }: FirefoxIdleResult): string {
  return `  at rest, Firefox's framing: ${storm.connected} streams, CPU ${quiet.cpuPercent} % of a core (median of ${quiet.windows.join(', ')} % over ${quiet.seconds} s each; ${quiet.cpuPercentPer10000} % per 10 000 streams, ${fmt(quiet.writesPerSecond)} writes/s)`;
}

/** The fan-out, under the counter's row. */
export function fanoutRow(f: FanoutResult): string {
  const rounds = f.rounds.map((r) => r.error ? `${r.from}→${r.to}: not measured, ${r.error}` : `${r.from}→${r.to}: p50 ${fmt(r.p50Ms)} / p99 ${fmt(r.p99Ms)} / max ${fmt(r.maxMs)} ms, server done writing at ${fmt(r.serverWritesDoneMs)} ms, ${fmt(r.writesPerStream, 2)} frame writes/stream${r.joinerFirstFrameShowsCount ? '' : ' (joiner first frame not N)'}`);
  return `  fan-out to ${f.streams} streams (window ${f.coalescingWindowMs} ms): p50 ${fmt(f.p50Ms)} ms, p99 ${fmt(f.p99Ms)} ms, max ${fmt(f.maxMs)} ms  [${rounds.join('; ')}]`;
}

/** The counter's leave storm, under its row. */
export function leaveRow(l: LeaveResult): string {
  return `  leave storm, ${l.leavers} leave (${l.probes} probes stay): count settled ${fmt(l.countSettledMs)} ms (server), /online.json ${fmt(l.jsonShowedMs)} ms, probes show ${l.probes} after ${fmt(l.probeFrameMs)} ms, CPU ${fmt(l.cpuSeconds, 2)} s; probes leave → 0 in ${fmt(l.zeroAfterProbesMs)} ms`;
}

/** A floor's leave storm, under its row. */
export function floorLeaveRow(l: FloorLeaveResult): string {
  return `  leave storm, floor: ${l.leavers} leave; all closed after ${fmt(l.closedMs)} ms (polled over IPC), CPU ${fmt(l.cpuSeconds, 2)} s`;
}

/** What is printed after the storms: the ratios to the floors, the goals and targets, and the profiles' summaries. */
export function summaryLines(results: Comparisons & { targets: Target[]; goals: Target[] }, maxN: number, profiles: (ProfileSummary | undefined)[]): string[] {
  const { joinStorms, steady, expressFloor } = results;
  const lines = ['\n## Ratios to the floor', '| N | connect | CPU | RSS/stream at settle |', '|--:|--:|--:|--:|'];
  for (const s of joinStorms) lines.push(`| ${s.n} | ${fmt(s.ratios.connect, 2)}× | ${fmt(s.ratios.cpu, 2)}× | ${fmt(s.ratios.rssAtSettlePerStream, 2)}× |`);
  lines.push(`\nSteady state at ${maxN} (${fmt(steady.server?.streams)} streams open on the counter, ${fmt(steady.floor?.streams)} on the floor): server RSS ${fmt(steady.server?.rssKB, 2)} KB/stream, heap ${fmt(steady.server?.heapKB, 2)} KB/stream; floor RSS ${fmt(steady.floor?.rssKB, 2)} KB/stream, heap ${fmt(steady.floor?.heapKB, 2)} KB/stream; ratio RSS ${fmt(steady.ratios.rssPerStream, 2)}×; CPU while quiet: server ${fmt(steady.server?.cpuPercent, 1)} %, floor ${fmt(steady.floor?.cpuPercent, 1)} %`);
  if (expressFloor) {
    const { toFloor, counterTo, steady: expressSteady } = expressFloor;
    lines.push(
      `\nThe Express floor at ${maxN} (an Express app whose one middleware does what the floor does): RSS ${fmt(expressSteady?.rssKB, 2)} KB/stream, heap ${fmt(expressSteady?.heapKB, 2)} KB/stream.`,
      '| | connect | CPU | RSS/stream (steady) |',
      '|---|--:|--:|--:|',
      `| Express floor ÷ floor | ${fmt(toFloor.connect, 2)}× | ${fmt(toFloor.cpu, 2)}× | ${fmt(toFloor.rssPerStream, 2)}× |`,
      `| counter ÷ Express floor | ${fmt(counterTo.connect, 2)}× | ${fmt(counterTo.cpu, 2)}× | ${fmt(counterTo.rssPerStream, 2)}× |`,
    );
  }
  const judged = (t: Target) => `- ${t.pass === null ? 'n/a ' : t.pass ? 'PASS' : 'FAIL'} ${t.target}: ${t.measured}`;
  lines.push('\n## Goals (issue 23): per viewer, against the floor of this run');
  for (const t of results.goals) lines.push(judged(t));
  lines.push('\n## Targets (issue 3)');
  for (const t of results.targets) lines.push(judged(t));
  for (const profile of profiles) if (profile) lines.push(`\n${formatProfileSummary({ ...profile, bySelf: profile.bySelf.slice(0, 15), byTotal: profile.byTotal.slice(0, 15) })}`);
  return lines;
}
