import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { userCounterMiddleware } from '../lib/index.js';
import {
  ChromiumBrowser,
  ENGINES,
  joinAndWait,
  launchBrowser,
  leaveAndWait,
  openAndWatch,
  recordImageData,
  servePage,
  sleep,
  summarize,
} from '../support/browsers/index.js';
import type { Engine, EngineBrowser, Opener } from '../support/browsers/index.js';

/**
 * The browser mode of the benchmark (`npm run bench:browser`): what a person waits for,
 * measured in Chromium, Firefox and WebKitGTK by sampling the `<img>` on screen back to back.
 *
 * (a) navigation -> the first frame visible; (b) a second viewer's navigation -> the
 * first page shows 2; (c) the second viewer's window closes -> the first page shows 1.
 * For (b) and (c) also the part after the server saw the join or leave (its `connect`
 * and `disconnect` events). In Chromium that part is split further into the middleware's
 * (until the new frame's bytes reached the page, CDP `Network.dataReceived`) and the
 * browser's (until the screen showed it).
 *
 * Each figure is when a screenshot showing the new frame came back: an upper bound, late
 * by up to one sampling period (printed). WebKit's figures include the WebDriver screenshot
 * cost: each of its samples is a whole-viewport screenshot sent over WebDriver's HTTP as a
 * base64 PNG, then decoded and cropped here (most of its printed sampling period), where
 * Chromium and Firefox screenshot only the image's box. Its joins also start a new driver and
 * MiniBrowser (a profile of its own) before the navigation; that start-up is not counted,
 * the navigation is.
 *
 *   npm run bench:browser -- --engine webkit --rounds 8 --joins 2
 */

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number of 1 or more.`);
  return value;
}

/** `--engine chromium|firefox|webkit|all` (default all). */
function enginesOption(): readonly Engine[] {
  const at = process.argv.indexOf('--engine');
  const value = at >= 0 ? process.argv[at + 1] : 'all';
  if (value === 'all') return ENGINES;
  if (!ENGINES.includes(value as Engine)) throw new Error(`--engine must be one of ${ENGINES.join(', ')} or all (got ${value}).`);
  return [value as Engine];
}

interface Server {
  url: string;
  connectAt: () => number;
  disconnectAt: () => number;
  close(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const app = express();
  const router = userCounterMiddleware();
  app.use(router);
  servePage(app);
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let [connectAt, disconnectAt] = [0, 0];
  router.counter.events.on('connect', () => (connectAt = Date.now()));
  router.counter.events.on('disconnect', () => (disconnectAt = Date.now()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    connectAt: () => connectAt,
    disconnectAt: () => disconnectAt,
    async close() {
      await router.counter.close();
      server.closeAllConnections();
      server.close();
    },
  };
}

const ROWS = [
  ['first', '(a) navigation -> first frame visible'],
  ['join', '(b) second viewer navigates -> first page shows 2'],
  ['joinAfterServer', '    server saw the join -> 2 on screen'],
  ['leave', '(c) second viewer closes -> first page shows 1'],
  ['leaveAfterServer', '    server saw the leave -> 1 on screen'],
  ['serverToBytes', '(b, c) server saw it -> frame bytes at the page'],
  ['bytesToScreen', '(b, c) frame bytes at the page -> on screen'],
] as const;
type Row = (typeof ROWS)[number][0];

async function measure(browser: EngineBrowser, server: Server, rounds: number, joinsPerRound: number): Promise<{ ms: Record<Row, number[]>; periods: number[] }> {
  const ms = Object.fromEntries(ROWS.map(([key]) => [key, [] as number[]])) as Record<Row, number[]>;
  const periods: number[] = [];
  // Round 0 warms up the browser and the server; it is not counted.
  for (let round = 0; round <= rounds; round++) {
    const counted = round > 0;
    let chunks: { t: number; bytes: number }[] = [];
    // In Chromium, also record when the image's bytes arrived.
    const opener: Opener =
      browser instanceof ChromiumBrowser
        ? { open: (url) => browser.open(url, { beforeNavigation: async (page) => void (chunks = await recordImageData(page)) }) }
        : browser;
    const watched = await openAndWatch(opener, server.url, { intervalMs: 0, timeoutMs: 5000 });
    // The new frame's bytes: the first chunk of frame size after the server saw the change.
    const split = (serverAt: number, shownAt: number): void => {
      const frame = chunks.find((chunk) => chunk.t >= serverAt && chunk.bytes > 200);
      if (!frame) return;
      ms.serverToBytes.push(frame.t - serverAt);
      ms.bytesToScreen.push(shownAt - frame.t);
    };
    if (counted) ms.first.push(watched.visibleMs);
    for (let i = 0; i < joinsPerRound; i++) {
      await sleep(300);
      const { viewer, change: joined } = await joinAndWait(browser, server.url, watched.sampler, 2, 5000);
      if (counted) {
        ms.join.push(joined.ms);
        ms.joinAfterServer.push(joined.sample.t - server.connectAt());
        split(server.connectAt(), joined.sample.t);
      }
      await sleep(300);
      const left = await leaveAndWait(viewer, watched.sampler, 1, { timeoutMs: 5000 });
      if (counted) {
        ms.leave.push(left.ms);
        ms.leaveAfterServer.push(left.sample.t - server.disconnectAt());
        split(server.disconnectAt(), left.sample.t);
      }
    }
    const times = watched.sampler.samples.map((sample) => sample.t);
    for (let i = 1; i < times.length; i++) periods.push(times[i] - times[i - 1]);
    await watched.viewer.close();
    await sleep(200);
  }
  return { ms, periods };
}

async function main(): Promise<void> {
  const engines = enginesOption();
  const rounds = option('rounds', 8);
  const joinsPerRound = option('joins', 2);
  const results: Record<string, unknown>[] = [];
  for (const engine of engines) {
    // One engine at a time, each against a fresh server: the machine may have two cores.
    const server = await startServer();
    const browser = await launchBrowser(engine);
    let measured: Awaited<ReturnType<typeof measure>>;
    try {
      measured = await measure(browser, server, rounds, joinsPerRound);
    } finally {
      await browser.close().catch(() => undefined);
      await server.close();
    }
    const summary = Object.fromEntries(ROWS.filter(([key]) => measured.ms[key].length > 0).map(([key]) => [key, summarize(measured.ms[key])]));
    const period = summarize(measured.periods);
    console.log(`\nexpress-user-counter browser bench: ${browser.version}, ${rounds} rounds x ${joinsPerRound} joins and leaves (plus a warm-up round)`);
    console.log(`sampling: a screenshot every ${period.median} ms (median; p90 ${period.p90} ms): figures are late by up to that`);
    if (engine === 'webkit') console.log('(WebKit: each sample is a WebDriver viewport screenshot; its cost is in every figure)');
    console.log(`\n${'what (ms)'.padEnd(52)}${'n'.padStart(4)}${'median'.padStart(8)}${'p90'.padStart(7)}${'max'.padStart(7)}`);
    for (const [key, label] of ROWS) {
      const row = summary[key];
      if (!row) continue;
      console.log(`${label.padEnd(52)}${String(row.n).padStart(4)}${String(row.median).padStart(8)}${String(row.p90).padStart(7)}${String(row.max).padStart(7)}`);
    }
    results.push({ engine, browser: browser.version, rounds, joinsPerRound, samplingPeriodMs: period, ...summary });
  }
  console.log('');
  for (const result of results) console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
