// npm run bench:vanish: how long a viewer whose network vanished stays counted, per framing, and
// whether a live viewer on a bad link is ever cut. Viewers stream from network namespaces of
// our own (support/network/): their packets are dropped (iptables) or slowed (tc tbf) there.
// Needs root (CAP_NET_ADMIN), iproute2 and iptables. Options (environment):
//   VIEWERS=24        vanished viewers per framing (the median and worst are over these)
//   SLOW_MINUTES=5    how long the slow-link viewers run; 0 skips it
//   SLOW_VIEWERS=12   slow-link viewers (half of each framing)
//   OPTIONS='{...}'   userCounterMiddleware options, as JSON (default: none, what a user gets)
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import { userCounterMiddleware } from '../lib/index.js';
import type { UserCounterRouter } from '../lib/index.js';
import { removeAllTestNetworks, TestNetwork } from '../support/network/test-network.js';
import { ViewersOver } from '../support/network/viewers-over.js';
import { showsCount } from '../support/png.js';
import { machine } from './machine.js';
import { distribution } from './statistics.js';

const VIEWERS = Number(process.env.VIEWERS ?? 24);
const SLOW_MINUTES = Number(process.env.SLOW_MINUTES ?? 5);
const SLOW_VIEWERS = Number(process.env.SLOW_VIEWERS ?? 12);
const OPTIONS = JSON.parse(process.env.OPTIONS ?? '{}') as Parameters<typeof userCounterMiddleware>[0];
/** The link of a reader on a bad mobile connection, and how often it drops out and for how long. */
const SLOW = { kbit: 250, lossPercent: 2 };
const OUTAGE_EVERY_MS = 60_000;
const OUTAGE_MS = 10_000;

const FRAMINGS = {
  'no heartbeats (Chromium, WebKit)': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
  'heartbeat bytes (Firefox)': 'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0',
} as const;

/** A counter on `address` with a room per scenario (`?page=`), so that each is counted on its own. */
async function startCounter(address: string): Promise<{ url: string; router: UserCounterRouter; close(): Promise<void> }> {
  const router = userCounterMiddleware({ room: (req) => req.query.page as string | undefined, logger: { warn: console.warn, error: () => undefined }, ...OPTIONS });
  const app = express();
  app.use(router);
  const server = app.listen(0, address);
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://${address}:${(server.address() as AddressInfo).port}`,
    router,
    async close() {
      await router.counter.close();
      server.closeAllConnections();
      server.close();
    },
  };
}

/**
 * Open `n` viewers of one framing on their own network, one by one over a keep-alive period,
 * each in a room of its own (a change in a room re-times its keep-alives), so that the cut
 * falls at every phase of the keep-alive, as it does for real readers.
 */
async function vanishing(framing: keyof typeof FRAMINGS, n: number) {
  const network = await TestNetwork.create(n);
  const counter = await startCounter(network.serverAddress);
  const viewers = await ViewersOver.start(network);
  for (const [i, localAddress] of network.viewerAddresses.entries()) {
    await viewers.open(counter.url, [{ localAddress, userAgent: FRAMINGS[framing], path: `/online.png?page=v${i}` }]);
    await sleep(3000 / n);
  }
  const left: number[] = [];
  let cutAt = 0;
  counter.router.counter.events.on('disconnect', () => left.push(Date.now() - cutAt));
  await sleep(1000);
  cutAt = Date.now();
  await network.cut();
  const deadline = Date.now() + 120_000;
  while (left.length < n && Date.now() < deadline) await sleep(100);
  await viewers.stop();
  await counter.close();
  await network.remove();
  const { p50, max } = distribution(left);
  return { framing, viewers: n, left: left.length, medianSeconds: p50 / 1000, worstSeconds: max / 1000 };
}

/** Slow-link viewers for `minutes`, through an outage every minute, while a local viewer comes and goes. */
async function slowLink(minutes: number, n: number) {
  const network = await TestNetwork.create(n);
  await network.shape(SLOW);
  const counter = await startCounter(network.serverAddress);
  const viewers = await ViewersOver.start(network);
  const agents = Object.values(FRAMINGS);
  await viewers.open(counter.url, network.viewerAddresses.map((localAddress, i) => ({ localAddress, userAgent: agents[i % agents.length], path: '/online.png?page=slow' })));
  let cut = 0;
  counter.router.counter.events.on('disconnect', ({ room }) => room === 'slow' && (cut += 1));
  const local = await ViewersOver.start();
  const startedAt = Date.now();
  let outages = 0;
  let changes = 0;
  while (Date.now() - startedAt < minutes * 60_000) {
    // A change of count every 3 s: a local viewer of the room joins (each a browser of its own; they stay).
    await local.open(counter.url, [{ localAddress: network.serverAddress, userAgent: `${agents[0]} local/${changes}`, path: '/online.png?page=slow' }]);
    changes += 1;
    const elapsed = Date.now() - startedAt;
    if (elapsed >= (outages + 1) * OUTAGE_EVERY_MS - OUTAGE_MS) {
      outages += 1;
      await network.cut();
      await sleep(OUTAGE_MS);
      await network.restore();
    } else {
      await sleep(3000);
    }
  }
  const expected = n + changes;
  const deadline = Date.now() + 30_000;
  let states = await viewers.state();
  while (!states.every((viewer) => !viewer.ended && viewer.lastPart && showsCount(viewer.lastPart, expected)) && Date.now() < deadline) {
    await sleep(500);
    states = await viewers.state();
  }
  const showing = states.filter((viewer) => !viewer.ended && viewer.lastPart && showsCount(viewer.lastPart, expected)).length;
  // Read before the streams are closed (which ends them all).
  const [counted, cutAtEnd] = [counter.router.counter.countIn('slow'), cut];
  await Promise.all([viewers.stop(), local.stop()]);
  await counter.close();
  await network.remove();
  return { minutes, viewers: n, link: `${SLOW.kbit} kbit/s, ${SLOW.lossPercent} % loss each way`, outages: `${outages} of ${OUTAGE_MS / 1000} s`, countChanges: changes, cut: cutAtEnd, counted, expected, showingTheLastCount: showing };
}

async function main(): Promise<void> {
  const measuredOn = machine();
  console.log(`bench:vanish on ${measuredOn.cpu} (${measuredOn.nproc} cores), ${measuredOn.platform}, Node ${measuredOn.node}, commit ${measuredOn.commit}${measuredOn.libModified ? ' (lib/ modified)' : ''}`);
  console.log(`options: ${JSON.stringify(OPTIONS)}`);
  const slow = SLOW_MINUTES > 0 ? slowLink(SLOW_MINUTES, SLOW_VIEWERS) : undefined;
  for (const framing of Object.keys(FRAMINGS) as (keyof typeof FRAMINGS)[]) {
    const result = await vanishing(framing, VIEWERS);
    console.log(`vanished, ${result.framing}: ${result.left} of ${result.viewers} left; median ${result.medianSeconds.toFixed(1)} s, worst ${result.worstSeconds.toFixed(1)} s after their network vanished`);
  }
  if (slow) {
    const result = await slow;
    console.log(
      `slow link, ${result.minutes} min, ${result.viewers} viewers (${result.link}, ${result.outages}, ${result.countChanges} count changes): ` +
        `${result.cut} cut; counted ${result.counted} of ${result.expected}; ${result.showingTheLastCount} of ${result.viewers} show the last count`,
    );
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => removeAllTestNetworks());
