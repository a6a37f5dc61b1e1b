import { describeSample, screenShows, showsText } from './frames.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sample, Sampler, SamplerOptions } from './sampler.js';
import type { Opener, Viewer } from './viewer.js';

/*
 * What people do with the page, in any engine, and when the watched page's screen
 * showed it. Every wait is for a sample showing the expected frame, never for a time.
 */

/** A page opened and watched from navigation until it shows its settled frame. */
export interface WatchedPage<V extends Viewer = Viewer> {
  readonly viewer: V;
  readonly sampler: Sampler;
  /** The first sample with the image loaded and its words drawn. */
  readonly first: Sample;
  /** Navigation start to `first`. */
  readonly visibleMs: number;
  /** The first sample showing the frame for the expected count. */
  readonly settled: Sample;
  /** Navigation start to `settled`. */
  readonly settledMs: number;
}

/**
 * Open `url` in a new viewer, sample its `<img>`, and wait (each step up to
 * `timeoutMs`) for the first frame and then for the frame for `count`.
 */
export async function openAndWatch<V extends Viewer>(
  opener: Opener<V>,
  url: string,
  { count = 1, timeoutMs = 2000, intervalMs = 50, sampling }: { count?: number; timeoutMs?: number; intervalMs?: number; sampling?: SamplerOptions } = {},
): Promise<WatchedPage<V>> {
  const viewer = await opener.open(url);
  const sampler = viewer.startSampling(intervalMs, sampling);
  const since = viewer.navigatedAt;
  const first = await sampler.waitFor(showsText, 'a loaded image with its words drawn', { since, timeoutMs });
  const settled = await sampler.waitFor((sample) => screenShows(sample, count), `the frame for ${count}`, { since, timeoutMs: timeoutMs + (first.t - since) });
  return { viewer, sampler, first, visibleMs: first.t - since, settled, settledMs: settled.t - since };
}

/** A change on the watched page: what caused it, and when the screen showed it. */
export interface ScreenChange {
  /** When the cause started (the other viewer's navigation, its close, or its navigating away). */
  readonly startedAt: number;
  /** The first sample showing the new frame. */
  readonly sample: Sample;
  /** `startedAt` to `sample.t`. */
  readonly ms: number;
}

/**
 * Another viewer opens `url`; resolves when `watched` shows the frame for `count`, within
 * `timeoutMs` of that page having loaded, or, given `counted` (resolves once the server has
 * counted the joining viewer), of the server having counted it.
 */
export async function joinAndWait<V extends Viewer>(
  opener: Opener<V>,
  url: string,
  watched: Sampler,
  count: number,
  timeoutMs = 2000,
  counted?: () => Promise<unknown>,
): Promise<{ viewer: V; change: ScreenChange }> {
  const viewer = await opener.open(url);
  const startedAt = viewer.navigatedAt;
  // How long the browser took to open a window, load the page and ask for the image is its own
  // (seconds for WebKit's WebDriver on a busy machine, whose navigation returns as soon as it has
  // started): `timeoutMs` runs from the join. The change is still measured from the navigation.
  await counted?.();
  const joinedAt = Date.now();
  const sample = await watched.waitFor((s) => screenShows(s, count), `the frame for ${count} after a viewer joined`, { since: startedAt, timeoutMs: joinedAt - startedAt + timeoutMs });
  return { viewer, change: { startedAt, sample, ms: sample.t - startedAt } };
}

export interface LeaveOptions {
  timeoutMs?: number;
  /** Leave by navigating the window here (its samplers stop first) instead of closing it. */
  navigateTo?: string;
}

/** `viewer` leaves (closes its window, or navigates away); resolves when `watched` shows the frame for `count`. */
export async function leaveAndWait(viewer: Viewer, watched: Sampler, count: number, { timeoutMs = 2000, navigateTo }: LeaveOptions = {}): Promise<ScreenChange> {
  let startedAt: number;
  if (navigateTo) {
    await viewer.stopSampling();
    startedAt = Date.now();
    await viewer.navigate(navigateTo);
  } else {
    startedAt = Date.now();
    await viewer.close();
  }
  const how = navigateTo ? 'navigated away' : 'closed its window';
  const sample = await watched.waitFor((s) => screenShows(s, count), `the frame for ${count} after a viewer ${how}`, { since: startedAt, timeoutMs });
  return { startedAt, sample, ms: sample.t - startedAt };
}

/**
 * A step of a churn run: another viewer opens, the oldest other viewer closes its window or
 * navigates away (to `awayUrl`, then closes), or nothing happens for a while.
 */
export type ChurnStep = 'join' | 'leave' | 'navigate-away' | 'quiet';

/**
 * Run `plan` against the page `watched` (which alone is open at the start): each join
 * or leave waits for the watched page to show the new count, then pauses `pauseMs`;
 * a quiet step waits `quietMs` (longer than the keep-alive, so re-sends happen).
 * Ends with every other viewer closed. Resolves with the screen change of each step.
 */
export async function churn(
  opener: Opener,
  url: string,
  watched: Sampler,
  plan: readonly ChurnStep[],
  { pauseMs = 400, quietMs = 3500, awayUrl, timeoutMs = 2000 }: { pauseMs?: number; quietMs?: number; awayUrl?: string; timeoutMs?: number } = {},
): Promise<ScreenChange[]> {
  const others: Viewer[] = [];
  const changes: ScreenChange[] = [];
  for (const step of [...plan, ...Array<ChurnStep>(plan.length).fill('leave')]) {
    if (step === 'quiet') {
      await sleep(quietMs);
      continue;
    }
    if (step === 'join') {
      const { viewer, change } = await joinAndWait(opener, url, watched, others.length + 2, timeoutMs);
      others.push(viewer);
      changes.push(change);
    } else {
      const leaving = others.shift();
      if (!leaving) continue;
      if (step === 'navigate-away' && !awayUrl) throw new Error('churn: a navigate-away step needs `awayUrl`.');
      const navigateTo = step === 'navigate-away' ? awayUrl : undefined;
      changes.push(await leaveAndWait(leaving, watched, others.length + 1, { timeoutMs, navigateTo }));
      if (navigateTo) await leaving.close();
    }
    await sleep(pauseMs);
  }
  return changes;
}

/**
 * What a watched page showed, across another viewer's join (the count went to 2) and its
 * leave (back to 1), that it should not have: samples without the words (blank, broken), and
 * samples away from the new count once it was up. Each list is empty when all went well.
 */
export function unsteadySamples(samples: readonly Sample[], joined: ScreenChange, left: ScreenChange): { blank: string[]; notTwoAfterJoin: string[]; notOneAfterLeave: string[] } {
  const away = (from: number, to: number, count: number, since: number): string[] =>
    samples.filter((sample) => sample.t >= from && sample.t < to && !screenShows(sample, count)).map((sample) => describeSample(sample, since));
  return {
    blank: samples.filter((sample) => !showsText(sample)).map((sample) => describeSample(sample, joined.startedAt)),
    notTwoAfterJoin: away(joined.sample.t, left.startedAt, 2, joined.startedAt),
    notOneAfterLeave: away(left.sample.t, Infinity, 1, left.startedAt),
  };
}

/** The highest count a churn plan reaches (the watched page included). */
export function peakCount(plan: readonly ChurnStep[]): number {
  let [open, peak] = [1, 1];
  for (const step of plan) {
    open = Math.max(1, open + (step === 'join' ? 1 : step === 'quiet' ? 0 : -1));
    peak = Math.max(peak, open);
  }
  return peak;
}

/** Median and p90 of some milliseconds. */
export function summarize(ms: readonly number[]): { n: number; median: number; p90: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { n: sorted.length, median: at(0.5), p90: at(0.9), max: sorted[sorted.length - 1] };
}
