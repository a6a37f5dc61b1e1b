import type { Comparisons } from './comparisons.js';
import { fmt } from './report.js';
import type { FanoutResult } from './scenarios/fanout.js';
import type { FrameResult } from './scenarios/frame.js';
import type { LeaveResult } from './scenarios/leave-storm.js';

/** One of issue 3's targets: what was measured, and whether it was met (null: not judged). */
export interface Target {
  target: string;
  measured: string;
  pass: boolean | null;
}

/** What the targets are judged on. */
type Measured = Comparisons & { fanout?: FanoutResult; leave?: LeaveResult; frame: FrameResult };

/** Issue 3's targets against this run; those for 10 000 streams are judged only when 10 000 was the largest N. */
export function targets(results: Measured, maxN: number): Target[] {
  const list: Target[] = [];
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
