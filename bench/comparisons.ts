import type { ProfileSummary } from './profile-summary.js';
import type { FanoutResult } from './scenarios/fanout.js';
import type { StormResult } from './scenarios/join-storm.js';
import type { FloorLeaveResult, LeaveResult } from './scenarios/leave-storm.js';
import type { FirefoxIdleResult } from './scenarios/firefox-idle.js';
import type { SteadyResult } from './scenarios/steady.js';
import { ratio } from './statistics.js';

/** What one server process measured: its join storm and, at the largest N, the scenarios after it. */
export interface ServerRun {
  storm: StormResult;
  /** The counter's CPU profile of the storm (`--profile`, largest N). */
  profile?: ProfileSummary;
  steady?: SteadyResult;
  steadyProfile?: ProfileSummary;
  fanout?: FanoutResult;
  leave?: LeaveResult;
  floorLeave?: FloorLeaveResult;
  /** The counter with Firefox's framing at rest (largest N). */
  firefoxIdle?: FirefoxIdleResult;
}

/** The counter and the floor at one N. */
export interface SizeRun {
  n: number;
  server: ServerRun;
  floor?: ServerRun;
}

/**
 * The counter against the floor at every N (join storm) and at the largest (steady state),
 * and, with the Express floor, what Express alone costs against the bare floor and the
 * counter against Express alone.
 */
export function compare(runs: SizeRun[], expressFloor: ServerRun | undefined, maxN: number) {
  const joinStorms = runs.map(({ n, server, floor }) => ({
    n,
    server: server.storm,
    floor: floor?.storm,
    ratios: {
      connect: ratio(server.storm.connectMs, floor?.storm.connectMs),
      cpu: ratio(server.storm.cpuSeconds, floor?.storm.cpuSeconds),
      rssAtSettlePerStream: ratio(server.storm.rssPerStreamAtSettleKB, floor?.storm.rssPerStreamAtSettleKB),
    },
  }));
  const deepRun = runs.find((run) => run.n === maxN)!;
  const steady = {
    server: deepRun.server.steady,
    floor: deepRun.floor?.steady,
    ratios: { rssPerStream: ratio(deepRun.server.steady?.rssKB, deepRun.floor?.steady?.rssKB), heapPerStream: ratio(deepRun.server.steady?.heapKB, deepRun.floor?.steady?.heapKB) },
  };
  const expressFloorRatios = expressFloor && deepRun.floor
    ? {
        n: maxN,
        storm: expressFloor.storm,
        steady: expressFloor.steady,
        toFloor: {
          connect: ratio(expressFloor.storm.connectMs, deepRun.floor.storm.connectMs),
          cpu: ratio(expressFloor.storm.cpuSeconds, deepRun.floor.storm.cpuSeconds),
          rssPerStream: ratio(expressFloor.steady?.rssKB, deepRun.floor.steady?.rssKB),
        },
        counterTo: {
          connect: ratio(deepRun.server.storm.connectMs, expressFloor.storm.connectMs),
          cpu: ratio(deepRun.server.storm.cpuSeconds, expressFloor.storm.cpuSeconds),
          rssPerStream: ratio(deepRun.server.steady?.rssKB, expressFloor.steady?.rssKB),
        },
      }
    : undefined;
  return { joinStorms, steady, expressFloor: expressFloorRatios };
}

/** The comparisons, as `compare` returns them. */
export type Comparisons = ReturnType<typeof compare>;
