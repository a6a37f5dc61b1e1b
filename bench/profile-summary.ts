import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CpuProfile } from './profiler.js';

/**
 * The top functions of a `.cpuprofile` by self time (time in the function's own
 * code) and by total time (with everything it called), merged over every call site.
 *
 *   npx tsx bench/profile-summary.ts file.cpuprofile [--top 25]
 */

export interface ProfileEntry {
  function: string;
  location: string;
  selfMs: number;
  selfPercent: number;
  totalMs: number;
  totalPercent: number;
}

export interface ProfileSummary {
  file: string;
  durationMs: number;
  /** Sampled time not spent idle. */
  busyMs: number;
  bySelf: ProfileEntry[];
  byTotal: ProfileEntry[];
}

const ROOT = path.resolve(__dirname, '..');

export function summariseProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const parent = new Map<number, number>();
  const keyOf = new Map<number, string>();
  const where = new Map<string, { function: string; location: string }>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || (url ? '(anonymous)' : '(native)');
    const location = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${name} ${location}`;
    keyOf.set(node.id, key);
    where.set(key, { function: name, location });
  }

  // Sample i lasts until the next sample; the last one is given the mean interval.
  const { samples, timeDeltas } = profile;
  const durationMs = (profile.endTime - profile.startTime) / 1000;
  const meanMs = samples.length > 0 ? durationMs / samples.length : 0;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const stacks = new Map<number, Set<string>>();
  let idleMs = 0;
  for (let i = 0; i < samples.length; i++) {
    const ms = i + 1 < samples.length ? timeDeltas[i + 1] / 1000 : meanMs;
    const key = keyOf.get(samples[i])!;
    if (key.startsWith('(idle)')) {
      idleMs += ms;
      continue;
    }
    self.set(key, (self.get(key) ?? 0) + ms);
    let stack = stacks.get(samples[i]);
    if (!stack) {
      stack = new Set();
      for (let id: number | undefined = samples[i]; id !== undefined; id = parent.get(id)) stack.add(keyOf.get(id)!);
      stacks.set(samples[i], stack);
    }
    for (const frame of stack) total.set(frame, (total.get(frame) ?? 0) + ms);
  }
  const busyMs = durationMs - idleMs;
  const entries = (times: Map<string, number>) =>
    [...times.entries()]
      .filter(([key]) => !key.startsWith('(root)') && !key.startsWith('(program)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key]) => {
        const selfMs = self.get(key) ?? 0;
        const totalMs = total.get(key) ?? 0;
        return {
          ...where.get(key)!,
          selfMs: round(selfMs),
          selfPercent: round((100 * selfMs) / busyMs),
          totalMs: round(totalMs),
          totalPercent: round((100 * totalMs) / busyMs),
        };
      });
  return { file, durationMs: round(durationMs), busyMs: round(busyMs), bySelf: entries(self), byTotal: entries(total) };
}

export function formatProfileSummary(summary: ProfileSummary): string {
  const lines = [
    `${path.relative(process.cwd(), summary.file)}: ${summary.durationMs} ms profiled, ${summary.busyMs} ms busy (percentages of busy time)`,
    '',
    '| self ms | self % | total % | function | location |',
    '|--:|--:|--:|---|---|',
    ...summary.bySelf.map((e) => `| ${e.selfMs} | ${e.selfPercent} | ${e.totalPercent} | ${e.function} | ${e.location} |`),
    '',
    'By total time (self + callees):',
    '',
    '| total ms | total % | self % | function | location |',
    '|--:|--:|--:|---|---|',
    ...summary.byTotal.map((e) => `| ${e.totalMs} | ${e.totalPercent} | ${e.selfPercent} | ${e.function} | ${e.location} |`),
  ];
  return lines.join('\n');
}

function shortUrl(url: string): string {
  if (url.startsWith('node:')) return url;
  let file = url;
  if (file.startsWith('file://')) file = decodeURIComponent(new URL(file).pathname);
  const relative = path.relative(ROOT, file);
  return relative.startsWith('node_modules/') || !relative.startsWith('..') ? relative : file;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25;
  if (args.length === 0) {
    console.error('usage: tsx bench/profile-summary.ts FILE.cpuprofile... [--top N]');
    process.exit(2);
  }
  for (const file of args) console.log(`${formatProfileSummary(summariseProfile(file, top))}\n`);
}
