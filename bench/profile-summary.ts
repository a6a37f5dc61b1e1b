import { readFileSync } from 'node:fs';
import path from 'node:path';
import { areaOf } from './profile-areas.js';
import type { SampledFrame } from './profile-areas.js';
import type { CpuProfile } from './profiler.js';

/**
 * The top functions of a `.cpuprofile` by self time (time in the function's own
 * code) and by total time (with everything it called), merged over every call site.
 *
 *   npx tsx bench/profile-summary.ts FILE.cpuprofile [MORE.cpuprofile...] [--top 25]
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
  files: string[];
  durationMs: number;
  /** Sampled time not spent idle: non-idle samples × the sampling interval. */
  busyMs: number;
  /** The process's CPU time over the profiled windows, from /proc, when the caller measured it. */
  processCpuMs?: number;
  bySelf: ProfileEntry[];
  byTotal: ProfileEntry[];
  /** Busy time by area (`profile-areas.ts`), largest first. */
  byArea: { area: string; ms: number; percent: number }[];
}

const ROOT = path.resolve(__dirname, '..');

/** Summarise one profile, or several as one (their times added). */
export function summariseProfile(files: string | string[], top = 25): ProfileSummary {
  const where = new Map<string, { function: string; location: string }>();
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const areas = new Map<string, number>();
  let durationMs = 0;
  for (const file of [files].flat()) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const parent = new Map<number, number>();
    const keyOf = new Map<number, string>();
    const frameOf = new Map<number, SampledFrame>();
    for (const node of profile.nodes) {
      for (const child of node.children ?? []) parent.set(child, node.id);
      const { functionName, url, lineNumber } = node.callFrame;
      const name = functionName || (url ? '(anonymous)' : '(native)');
      const location = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
      const key = `${name} ${location}`;
      keyOf.set(node.id, key);
      frameOf.set(node.id, { functionName: name, location: url ? shortUrl(url) : '' });
      where.set(key, { function: name, location });
    }

    // Every sample counts as one sampling interval (the median gap between samples).
    // Not "until the next sample": the sampler skips time the thread spends waiting in
    // the event loop, and that gap would be charged to whatever ran last before it.
    const { samples, timeDeltas } = profile;
    durationMs += (profile.endTime - profile.startTime) / 1000;
    const ms = median(timeDeltas) / 1000;
    const stacks = new Map<number, Set<string>>();
    const areaOfNode = new Map<number, string>();
    for (let i = 0; i < samples.length; i++) {
      const key = keyOf.get(samples[i])!;
      if (key.startsWith('(idle)')) continue;
      self.set(key, (self.get(key) ?? 0) + ms);
      let stack = stacks.get(samples[i]);
      if (!stack) {
        stack = new Set();
        for (let id: number | undefined = samples[i]; id !== undefined; id = parent.get(id)) stack.add(keyOf.get(id)!);
        stacks.set(samples[i], stack);
      }
      for (const frame of stack) total.set(frame, (total.get(frame) ?? 0) + ms);
      let area = areaOfNode.get(samples[i]);
      if (area === undefined) {
        const frames: SampledFrame[] = [];
        for (let id: number | undefined = samples[i]; id !== undefined; id = parent.get(id)) frames.push(frameOf.get(id)!);
        area = areaOf(frames);
        areaOfNode.set(samples[i], area);
      }
      areas.set(area, (areas.get(area) ?? 0) + ms);
    }
  }
  const busyMs = [...self.values()].reduce((sum, value) => sum + value, 0);
  const entries = (times: Map<string, number>) =>
    [...times.entries()]
      .filter(([key]) => !key.startsWith('(root)'))
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
  const byArea = [...areas.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([area, ms]) => ({ area, ms: round(ms), percent: round((100 * ms) / busyMs) }));
  return { files: [files].flat(), durationMs: round(durationMs), busyMs: round(busyMs), bySelf: entries(self), byTotal: entries(total), byArea };
}

export function formatProfileSummary(summary: ProfileSummary): string {
  const lines = [
    `${summary.files.map((file) => path.relative(process.cwd(), file)).join(' + ')}: ${summary.durationMs} ms profiled, ${summary.busyMs} ms sampled busy${summary.processCpuMs === undefined ? '' : `, ${summary.processCpuMs} ms CPU by /proc`} (percentages of busy time)`,
    '',
    '| busy ms | % | area |',
    '|--:|--:|---|',
    ...summary.byArea.map((a) => `| ${a.ms} | ${a.percent} | ${a.area} |`),
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length > 0 ? sorted[Math.floor(sorted.length / 2)] : 0;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25;
  if (args.length === 0) {
    console.error('usage: tsx bench/profile-summary.ts FILE.cpuprofile [MORE.cpuprofile...] [--top N]');
    process.exit(2);
  }
  // Several files are summarised as one (for example the rounds of a fan-out).
  console.log(formatProfileSummary(summariseProfile(args, top)));
}
