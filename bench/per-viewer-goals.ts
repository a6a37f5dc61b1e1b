import type { Comparisons } from './comparisons.js';
import { fmt } from './report.js';
import type { FirefoxIdleResult } from './scenarios/firefox-idle.js';
import type { Target } from './targets.js';

/** Idle CPU per 10 000 streams, as % of one core: Chromium's and WebKit's framing (no heartbeats), and Firefox's. */
const IDLE_GOAL_PERCENT = { chromium: 1.5, firefox: 2 };

/**
 * Issue 23's goals, judged against one run: what a viewer costs in a join storm (CPU, the
 * connect phase, RSS) as ratios to the floor measured in the same run, and what an idle
 * stream costs per 10 000 for each framing. Judged at the largest N; the ratios at every N
 * are in the table above them.
 */
export function perViewerGoals(results: Comparisons & { firefoxIdle?: FirefoxIdleResult }, maxN: number): Target[] {
  const list: Target[] = [];
  const add = (target: string, measured: string, pass: boolean | null) => list.push({ target, measured, pass });
  const within = (value: number | null | undefined, limit: number) => (value === null || value === undefined ? null : value <= limit);
  const big = results.joinStorms.find((s) => s.n === maxN)!;
  const atEachN = (pick: (s: Comparisons['joinStorms'][number]) => number | null) => results.joinStorms.map((s) => `${s.n}: ${fmt(pick(s), 2)}×`).join(', ');
  add(`join storm of ${maxN}: server CPU ≤ 2× the floor's`, `${fmt(big.ratios.cpu, 2)}× (${fmt(big.server.cpuSeconds, 2)} s vs ${fmt(big.floor?.cpuSeconds, 2)} s; ${atEachN((s) => s.ratios.cpu)})`, within(big.ratios.cpu, 2));
  add(`join storm of ${maxN}: connect phase ≤ 2× the floor's`, `${fmt(big.ratios.connect, 2)}× (${fmt(big.server.connectMs)} ms vs ${fmt(big.floor?.connectMs)} ms; ${atEachN((s) => s.ratios.connect)})`, within(big.ratios.connect, 2));
  const { steady } = results;
  add(
    `RSS per viewer at ${maxN} ≤ 1.5× the floor's (steady, after a collection)`,
    `${fmt(steady.ratios.rssPerStream, 2)}× (${fmt(steady.server?.rssKB, 2)} KB vs ${fmt(steady.floor?.rssKB, 2)} KB; at settle ${atEachN((s) => s.ratios.rssAtSettlePerStream)})`,
    within(steady.ratios.rssPerStream, 1.5),
  );
  const chromium = steady.server?.quiet;
  add(
    `idle streams, Chromium's and WebKit's framing (no heartbeats): CPU ≤ ${IDLE_GOAL_PERCENT.chromium} % of a core per 10 000`,
    chromium ? `${chromium.cpuPercentPer10000} % (${chromium.cpuPercent} % with ${steady.server!.streams} streams, ${fmt(chromium.writesPerSecond)} writes/s; the floor ${fmt(steady.floor?.quiet.cpuPercentPer10000, 2)} %, or ${fmt(steady.floor?.withKeepAlives?.cpuPercentPer10000, 2)} % writing as many keep-alives)` : 'not measured',
    within(chromium?.cpuPercentPer10000, IDLE_GOAL_PERCENT.chromium),
  );
  const firefox = results.firefoxIdle?.quiet;
  add(
    `idle streams, Firefox's framing (heartbeats): CPU ≤ ${IDLE_GOAL_PERCENT.firefox} % of a core per 10 000`,
    firefox ? `${firefox.cpuPercentPer10000} % (${firefox.cpuPercent} % with ${results.firefoxIdle!.storm.connected} streams, ${fmt(firefox.writesPerSecond)} writes/s)` : 'not measured (--no-firefox-idle)',
    within(firefox?.cpuPercentPer10000, IDLE_GOAL_PERCENT.firefox),
  );
  return list;
}
