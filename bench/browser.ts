import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { userCounterMiddleware } from '../lib/index.js';
import {
  joinAndWait,
  launchChromium,
  leaveAndWait,
  openAndWatch,
  recordImageData,
  servePage,
  sleep,
  summarize,
} from '../__tests__/helpers/browser.js';

/**
 * The browser mode of the benchmark (`npm run bench:browser`): what a person waits for,
 * measured on Debian's Chromium by sampling the `<img>` on screen back to back.
 *
 * (a) navigation -> the first frame visible; (b) a second viewer's navigation -> the
 * first page shows 2; (c) the second viewer's window closes -> the first page shows 1.
 * For (b) and (c) also the part after the server saw the join or leave (its `connect`
 * and `disconnect` events), split into the middleware's part (until the new frame's
 * bytes reached the first page, CDP `Network.dataReceived`) and the browser's (until
 * the screen showed it).
 *
 * Each figure is when a screenshot showing the new frame came back: an upper bound,
 * late by up to one sampling period (printed).
 *
 *   npm run bench:browser -- --rounds 8 --joins 2
 */

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number of 1 or more.`);
  return value;
}

async function main(): Promise<void> {
  const rounds = option('rounds', 8);
  const joinsPerRound = option('joins', 2);

  const app = express();
  const router = userCounterMiddleware();
  app.use(router);
  servePage(app);
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  let connectAt = 0;
  let disconnectAt = 0;
  router.counter.events.on('connect', () => (connectAt = Date.now()));
  router.counter.events.on('disconnect', () => (disconnectAt = Date.now()));

  const browser = await launchChromium();
  const version = browser.version();
  const firstFrame: number[] = [];
  const join: number[] = [];
  const joinAfterServer: number[] = [];
  const leave: number[] = [];
  const leaveAfterServer: number[] = [];
  const toBytes: number[] = [];
  const bytesToScreen: number[] = [];
  const samplePeriods: number[] = [];
  try {
    // Round 0 warms up the browser and the server; it is not counted.
    for (let round = 0; round <= rounds; round++) {
      const counted = round > 0;
      let chunks: { t: number; bytes: number }[] = [];
      const watched = await openAndWatch(browser, url, {
        intervalMs: 0,
        beforeNavigation: async (page) => {
          chunks = await recordImageData(page);
        },
      });
      // The new frame's bytes: the first chunk of frame size after the server saw the change.
      const split = (serverAt: number, shownAt: number): void => {
        const frame = chunks.find((chunk) => chunk.t >= serverAt && chunk.bytes > 200);
        if (!frame) return;
        toBytes.push(frame.t - serverAt);
        bytesToScreen.push(shownAt - frame.t);
      };
      if (counted) firstFrame.push(watched.visibleMs);
      for (let i = 0; i < joinsPerRound; i++) {
        await sleep(300);
        const { viewer, change: joined } = await joinAndWait(browser, url, watched.sampler, 2);
        if (counted) {
          join.push(joined.ms);
          joinAfterServer.push(joined.sample.t - connectAt);
          split(connectAt, joined.sample.t);
        }
        await sleep(300);
        const left = await leaveAndWait(viewer, watched.sampler, 1);
        if (counted) {
          leave.push(left.ms);
          leaveAfterServer.push(left.sample.t - disconnectAt);
          split(disconnectAt, left.sample.t);
        }
      }
      const times = watched.sampler.samples.map((sample) => sample.t);
      for (let i = 1; i < times.length; i++) samplePeriods.push(times[i] - times[i - 1]);
      await watched.viewer.close();
      await sleep(200);
    }
  } finally {
    await browser.close().catch(() => undefined);
    await router.counter.close();
    server.closeAllConnections();
    server.close();
  }

  const rows: [string, string, number[]][] = [
    ['first', '(a) navigation -> first frame visible', firstFrame],
    ['join', '(b) second viewer navigates -> first page shows 2', join],
    ['joinAfterServer', '    server saw the join -> 2 on screen', joinAfterServer],
    ['leave', '(c) second viewer closes -> first page shows 1', leave],
    ['leaveAfterServer', '    server saw the leave -> 1 on screen', leaveAfterServer],
    ['serverToBytes', '(b, c) server saw it -> frame bytes at the page', toBytes],
    ['bytesToScreen', '(b, c) frame bytes at the page -> on screen', bytesToScreen],
  ];
  const results = Object.fromEntries(rows.map(([key, , ms]) => [key, summarize(ms)]));
  const period = summarize(samplePeriods);
  console.log(`express-user-counter browser bench: Chromium ${version}, ${rounds} rounds x ${joinsPerRound} joins and leaves (plus a warm-up round)`);
  console.log(`sampling: a screenshot every ${period.median} ms (median; p90 ${period.p90} ms): figures are late by up to that\n`);
  console.log(`${'what (ms)'.padEnd(52)}${'n'.padStart(4)}${'median'.padStart(8)}${'p90'.padStart(7)}${'max'.padStart(7)}`);
  for (const [key, label] of rows) {
    const { n, median, p90, max } = results[key];
    console.log(`${label.padEnd(52)}${String(n).padStart(4)}${String(median).padStart(8)}${String(p90).padStart(7)}${String(max).padStart(7)}`);
  }
  console.log(`\n${JSON.stringify({ chromium: version, rounds, joinsPerRound, samplingPeriodMs: period, ...results })}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
