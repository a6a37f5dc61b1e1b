import { writeFileSync } from 'node:fs';
import { Clients } from './clients.js';
import { compare } from './comparisons.js';
import type { ServerRun, SizeRun } from './comparisons.js';
import { loadAverage, machine } from './machine.js';
import { maxConnectionsFor, parseOptions } from './options.js';
import type { BenchOptions } from './options.js';
import { fanoutRow, firefoxIdleRow, floorLeaveRow, frameLine, leaveRow, machineLine, STORM_HEAD, steadyRow, stormRow, summaryLines } from './report.js';
import { fanout } from './scenarios/fanout.js';
import { firefoxIdle } from './scenarios/firefox-idle.js';
import { frameScenario } from './scenarios/frame.js';
import { joinStorm } from './scenarios/join-storm.js';
import { floorLeave, leaveStorm } from './scenarios/leave-storm.js';
import { steadyState } from './scenarios/steady.js';
import { startServer, stopReadingCounts } from './servers.js';
import type { Kind } from './servers.js';
import { round } from './statistics.js';
import { perViewerGoals } from './per-viewer-goals.js';
import { targets } from './targets.js';
import type { Target } from './targets.js';
import type { BenchViewer } from './viewer.js';

/**
 * `npm run bench [-- --quick] [--n 1000,5000] [--profile] [--no-floor] [--json FILE]`
 *
 * The counter (an Express app with `userCounterMiddleware()`, as the demo) and a
 * floor server (bare `node:http`, one shared frame per viewer) each run alone in a
 * child process; viewers run in client processes, each from its own loopback
 * address. This file picks the scenarios (bench/scenarios/) for each server and N;
 * see bench/README.md for what each figure means.
 */

type Log = (line: string) => void;

/**
 * A fresh process of `kind` through a join storm of `n`; at the largest N (`deep`) also the
 * steady state, then the fan-out and the leave storm (the counter) or the floor's leave storm.
 */
async function measureServer(kind: Kind, n: number, clients: Clients, options: BenchOptions, deep: boolean, log: Log, counterWritesPerSecond?: number): Promise<ServerRun> {
  const server = await startServer(kind, options);
  try {
    const { storm, idle, profile } = await joinStorm(server, n, clients, options, options.profile && deep);
    log(stormRow(storm));
    const run: ServerRun = { storm };
    if (deep) {
      const quiet = await steadyState(server, n, storm.connected, idle, options, counterWritesPerSecond);
      run.steady = quiet.steady;
      run.steadyProfile = quiet.profile;
      log(steadyRow(kind, quiet.steady));
      if (kind === 'server') {
        const probes: BenchViewer[] = [];
        try {
          run.fanout = await fanout(server, storm.connected, clients, probes, options);
          log(fanoutRow(run.fanout));
          run.leave = await leaveStorm(server, storm.connected, clients, probes, options);
          log(leaveRow(run.leave));
        } finally {
          for (const probe of probes) probe.close();
        }
      } else {
        run.floorLeave = await floorLeave(server, n, clients);
        log(floorLeaveRow(run.floorLeave));
      }
    }
    await clients.leave();
    return { ...run, profile };
  } finally {
    await server.child.stop();
  }
}

/** Firefox's framing at rest, on a fresh counter (`scenarios/firefox-idle.ts`). */
async function measureFirefoxIdle(n: number, clients: Clients, options: BenchOptions, log: Log) {
  const server = await startServer('server', options);
  try {
    const result = await firefoxIdle(server, n, clients, options);
    log(stormRow(result.storm, 'Firefox'));
    log(firefoxIdleRow(result));
    await clients.leave();
    return result;
  } finally {
    await server.child.stop();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const log: Log = (line) => console.log(line);
  const info = machine();
  log(machineLine(info));

  const frame = await frameScenario();
  log(frameLine(frame));

  const maxN = Math.max(...options.sizes);
  const clients = await Clients.start(Math.max(1, Math.ceil(maxN / options.perWorker)));
  log(`${clients.workers.length} client process(es); backlog ${options.backlog}\n`);
  for (const line of STORM_HEAD) log(line);
  const runs: SizeRun[] = [];
  let expressFloor: ServerRun | undefined;
  try {
    for (const n of options.sizes) {
      const deep = n === maxN;
      const server = await measureServer('server', n, clients, options, deep, log);
      if (deep && options.firefoxIdle) server.firefoxIdle = await measureFirefoxIdle(n, clients, options, log);
      const floor = options.floor ? await measureServer('floor', n, clients, options, deep, log, server.steady?.quiet.writesPerSecond ?? undefined) : undefined;
      runs.push({ n, server, floor });
    }
    if (options.expressFloor) expressFloor = await measureServer('express floor', maxN, clients, options, true, log);
  } finally {
    await clients.stop();
    stopReadingCounts();
  }

  const deepRun = runs.find((run) => run.n === maxN)!;
  const { joinStorms, steady, expressFloor: expressFloorRatios } = compare(runs, expressFloor, maxN);
  const results = {
    machine: info,
    options: { quick: options.quick, sizes: options.sizes, backlog: options.backlog, maxConnections: maxConnectionsFor(options), counterOptions: JSON.parse(options.counterOptions) as object, clientProcesses: clients.workers.length, fanoutRounds: options.fanoutRounds, idleSeconds: options.idleSeconds },
    joinStorms,
    steady,
    expressFloor: expressFloorRatios,
    fanout: deepRun.server.fanout,
    leave: deepRun.server.leave,
    floorLeave: deepRun.floor?.floorLeave,
    firefoxIdle: deepRun.server.firefoxIdle,
    frame,
    profiles: options.profile
      ? { joinStorm: deepRun.server.profile, floorJoinStorm: deepRun.floor?.profile, expressFloorJoinStorm: expressFloor?.profile, steady: deepRun.server.steadyProfile, fanout: deepRun.server.fanout?.profile, leaveStorm: deepRun.server.leave?.profile, firefoxIdle: deepRun.server.firefoxIdle?.profile }
      : undefined,
    targets: [] as Target[],
    goals: [] as Target[],
    durationSeconds: 0,
  };
  results.targets = targets(results, maxN);
  results.goals = perViewerGoals(results, maxN);
  results.durationSeconds = round((Date.now() - started) / 1000);
  info.loadAverageAtEnd = loadAverage();

  for (const line of summaryLines(results, maxN, Object.values(results.profiles ?? {}))) log(line);
  log(`\n${JSON.stringify(results, null, 2)}`);
  if (options.json) writeFileSync(options.json, `${JSON.stringify(results, null, 2)}\n`);
  log(`\ndone in ${results.durationSeconds} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
