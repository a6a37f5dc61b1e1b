import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { round } from './statistics.js';

/** The commit measured, and whether lib/ differed from it (others may be editing it). */
function revision() {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: path.resolve(__dirname, '..'), encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  };
  return { commit: git(['rev-parse', '--short', 'HEAD']), libModified: (git(['status', '--porcelain', '--', 'lib']) ?? '') !== '' };
}

/** The machine, Node and commit the figures come from; `loadAverageAtEnd` is filled in at the end. */
export function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    nproc: os.availableParallelism(),
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    memoryGB: round(os.totalmem() / 1024 ** 3),
    loadAverageAtStart: loadAverage(),
    loadAverageAtEnd: [] as number[],
    platform: `${os.type()} ${os.release()}`,
    ...revision(),
  };
}

/** The machine as `machine()` describes it. */
export type Machine = ReturnType<typeof machine>;

/** The 1, 5 and 15 minute load averages, to two decimals. */
export function loadAverage(): number[] {
  return os.loadavg().map((load) => round(load, 2));
}
