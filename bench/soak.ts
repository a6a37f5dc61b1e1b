import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Sample, ViewerPage } from '../support/browsers/index.js';
import { chromiumPss } from './chromium-memory.js';
import { ServerProcess } from './soak-server.js';

/**
 * The soak (`npm run soak -- --minutes 60`): one Chromium page stays on the stream for
 * the chosen time while other viewers (each its own browser context) join or leave
 * every few seconds. Its `<img>` is sampled all along. Reports every blank sample
 * (no image, or no words drawn), every update the screen did not show within 2 s,
 * every settled sample that is not the frame for the current count, and the memory
 * of the browser and of the server at the start, each minute, and at the end.
 *
 * The server runs in a child process (`soak-server.ts`), so that its memory is its own.
 * Exits with 1 when anything was blank, late or wrong.
 *
 *   --minutes 60      how long (fractions allowed)
 *   --every-ms 3000   a join or a leave this often
 *   --max-others 4    at most this many other viewers at once
 *   --sample-ms 50    how often the page is sampled
 */

const UPDATE_BOUND_MS = 2000;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a number above 0.`);
  return value;
}

interface MemoryReading {
  at: number;
  chromiumPss: number;
  chromiumProcesses: number;
  pageJsHeapUsed: number;
  serverRss: number;
  serverHeapUsed: number;
  serverCount: number;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  const minutes = option('minutes', 60);
  const everyMs = option('every-ms', 3000);
  const maxOthers = option('max-others', 4);
  const sampleMs = option('sample-ms', 50);
  const helpers = await import('../support/browsers/index.js');
  const { describeSample, launchChromium, openAndWatch, samplePng, screenShows, showsText, sleep, summarize, ViewerPage: Viewer } = helpers;

  const server = await ServerProcess.start();
  const browser = await launchChromium();
  const evidenceDir = path.join(os.tmpdir(), 'express-user-counter-soak');
  const started = Date.now();
  const deadline = started + minutes * 60_000;

  // What the watched page should show: 1 + the other viewers; `pending` until the screen shows it.
  let expected = 1;
  let pending: { count: number; since: number; late: boolean } | undefined;
  const latencies: number[] = [];
  const blank: string[] = [];
  const late: string[] = [];
  const wrong: string[] = [];
  let samples = 0;
  let lastSample: Sample | undefined;
  const saveEvidence = (sample: Sample, name: string): void => {
    if (blank.length + wrong.length > 10) return;
    mkdirSync(evidenceDir, { recursive: true });
    writeFileSync(path.join(evidenceDir, `${name}-${sample.t}.png`), samplePng(sample));
  };
  const onSample = (sample: Sample): void => {
    samples += 1;
    lastSample = sample;
    const at = `${((sample.t - started) / 1000).toFixed(1)} s`;
    if (!showsText(sample)) {
      blank.push(`${at}: ${describeSample(sample)}`);
      saveEvidence(sample, 'blank');
    }
    if (pending) {
      if (screenShows(sample, pending.count)) {
        latencies.push(sample.t - pending.since);
        pending = undefined;
      } else if (!pending.late && sample.t - pending.since > UPDATE_BOUND_MS) {
        pending.late = true;
        late.push(`${at}: the frame for ${pending.count} not shown ${UPDATE_BOUND_MS} ms after the change; ${describeSample(sample)}`);
      }
    } else if (!screenShows(sample, expected)) {
      wrong.push(`${at}: expected the frame for ${expected}; ${describeSample(sample)}`);
      saveEvidence(sample, 'wrong');
    }
  };
  const expectOnScreen = (count: number, since: number): void => {
    expected = count;
    pending = { count, since, late: false };
  };

  const watched = await openAndWatch(browser, server.url, { intervalMs: sampleMs, sampling: { keepLast: 100, onSample } });
  const cdp = await watched.viewer.context.newCDPSession(watched.viewer.page);
  await cdp.send('Performance.enable');
  const read = async (): Promise<MemoryReading> => {
    await cdp.send('HeapProfiler.collectGarbage').catch(() => undefined);
    const { metrics } = await cdp.send('Performance.getMetrics');
    const [chromium, memory] = [chromiumPss(), await server.memory()];
    return {
      at: Date.now() - started,
      chromiumPss: chromium.pss,
      chromiumProcesses: chromium.processes,
      pageJsHeapUsed: metrics.find((metric) => metric.name === 'JSHeapUsedSize')?.value ?? NaN,
      serverRss: memory.rss,
      serverHeapUsed: memory.heapUsed,
      serverCount: memory.count,
    };
  };
  const readings: MemoryReading[] = [await read()];
  const line = (reading: MemoryReading): string =>
    `chromium ${mb(reading.chromiumPss)} in ${reading.chromiumProcesses} processes, page JS heap ${mb(reading.pageJsHeapUsed)}, ` +
    `server RSS ${mb(reading.serverRss)} heap ${mb(reading.serverHeapUsed)}, count ${reading.serverCount}`;
  console.log(`soak: ${minutes} min on ${server.url}, a join or leave every ${everyMs} ms (at most ${maxOthers} others), sampling every ${sampleMs} ms`);
  console.log(`start: ${line(readings[0])}`);

  // A fixed seed: the same sequence of joins and leaves every run.
  let seed = 20_120_601;
  const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const others: ViewerPage[] = [];
  let [joins, leaves] = [0, 0];
  let nextReport = started + 60_000;
  while (Date.now() < deadline) {
    await sleep(Math.min(everyMs, Math.max(0, deadline - Date.now())));
    if (Date.now() >= deadline) break;
    const join = others.length === 0 || (others.length < maxOthers && random() < 0.5);
    if (join) {
      const count = others.length + 2;
      // From the start of the navigation, as in the browser bench (the new context is made before).
      others.push(await Viewer.open(browser, server.url, async () => expectOnScreen(count, Date.now())));
      joins += 1;
    } else {
      expectOnScreen(others.length, Date.now());
      await others.splice(Math.floor(random() * others.length), 1)[0].close();
      leaves += 1;
    }
    if (Date.now() >= nextReport) {
      nextReport += 60_000;
      const reading = await read();
      readings.push(reading);
      console.log(
        `${(reading.at / 60_000).toFixed(1)} min: ${samples} samples, ${joins} joins, ${leaves} leaves, ${blank.length} blank, ${late.length} late, ${wrong.length} wrong; ${line(reading)}`,
      );
    }
  }

  for (const other of others.splice(0)) await other.close();
  expectOnScreen(1, Date.now());
  await sleep(UPDATE_BOUND_MS + 500);
  const end = await read();
  readings.push(end);
  await watched.sampler.stop();
  await watched.viewer.close();
  await browser.close();
  await server.stop();

  const start = readings[0];
  const latency = summarize(latencies);
  const rows: [string, number, number][] = [
    ['chromium (PSS, all processes)', start.chromiumPss, end.chromiumPss],
    ['watched page JS heap used', start.pageJsHeapUsed, end.pageJsHeapUsed],
    ['server RSS', start.serverRss, end.serverRss],
    ['server heap used', start.serverHeapUsed, end.serverHeapUsed],
  ];
  console.log(`\nend: ${line(end)}`);
  console.log(`\n${((Date.now() - started) / 60_000).toFixed(1)} min: ${samples} samples (${watched.sampler.failed} failed to take), ${joins} joins, ${leaves} leaves`);
  console.log(`updates shown: median ${latency.median} ms, p90 ${latency.p90} ms, max ${latency.max} ms (of ${latency.n})`);
  console.log(`blank samples: ${blank.length}; updates not shown within ${UPDATE_BOUND_MS} ms: ${late.length}; settled samples showing the wrong frame: ${wrong.length}`);
  for (const problem of [...blank, ...late, ...wrong].slice(0, 20)) console.log(`  ${problem}`);
  if (blank.length + wrong.length > 0) console.log(`  screenshots of the first ones: ${evidenceDir}`);
  console.log(`\n${'memory'.padEnd(32)}${'start'.padStart(10)}${'end'.padStart(10)}${'change'.padStart(10)}`);
  for (const [label, from, to] of rows) console.log(`${label.padEnd(32)}${mb(from).padStart(10)}${mb(to).padStart(10)}${mb(to - from).padStart(10)}`);
  console.log(
    `\n${JSON.stringify({ minutes, everyMs, maxOthers, sampleMs, samples, failedSamples: watched.sampler.failed, joins, leaves, blank: blank.length, late: late.length, wrong: wrong.length, latency, lastSample: lastSample ? describeSample(lastSample) : null, readings })}`,
  );
  if (blank.length + late.length + wrong.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
