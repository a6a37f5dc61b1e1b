// A live viewer on a bad mobile link is never cut (README, What the count means): 250 kbit/s
// each way, 2 % of packets lost each way, and a 10 s outage, while the count keeps changing.
// The viewers stream from a network namespace of the test's own (tc tbf and iptables inside it).
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import { USER_AGENTS } from '../helpers/user-agents.js';
import { Viewer } from '../helpers/viewer.js';
import { showsCount } from '../../support/png.js';
import { TestNetwork } from '../../support/network/test-network.js';
import { startViewersOver } from '../helpers/network-viewers.js';
import type { ViewerState } from '../../support/network/viewers-over.js';

const SLOW = { kbit: 250, lossPercent: 2 };
const RUN_MS = 30_000;
const OUTAGE = { fromMs: 10_000, toMs: 20_000 };
const CHANGE_EVERY_MS = 2000;

test(`six viewers on a ${SLOW.kbit} kbit/s link losing ${SLOW.lossPercent} % of packets stay counted for ${RUN_MS / 1000} s of changes, through a ${(OUTAGE.toMs - OUTAGE.fromMs) / 1000} s outage, and show the last count`, async () => {
  const network = await TestNetwork.create(6);
  await network.shape(SLOW);
  const app = await startCounterApp({}, { host: network.serverAddress });
  const viewers = await startViewersOver(network);
  const specs = network.viewerAddresses.map((localAddress, i) => ({ localAddress, userAgent: i < 3 ? USER_AGENTS.chromium : USER_AGENTS.firefoxLinux }));
  expect(await viewers.open(app.url, specs)).toEqual([200, 200, 200, 200, 200, 200]);
  await eventually(() => app.counter.count === 6, `the server to count the six viewers, it counts ${app.counter.count}`);

  // A seventh viewer, on this side, comes and goes; the six must never leave.
  let local: Viewer | undefined;
  let localLeaves = 0;
  let disconnects = 0;
  app.counter.events.on('disconnect', () => (disconnects += 1));
  const counts = new Set<number>();
  const startedAt = Date.now();
  let lastChangeAt = startedAt;
  let outage: 'before' | 'during' | 'after' = 'before';
  while (Date.now() - startedAt < RUN_MS) {
    const elapsed = Date.now() - startedAt;
    if (outage === 'before' && elapsed >= OUTAGE.fromMs) {
      outage = 'during';
      await network.cut();
    } else if (outage === 'during' && elapsed >= OUTAGE.toMs) {
      outage = 'after';
      await network.restore();
    }
    if (Date.now() - lastChangeAt >= CHANGE_EVERY_MS) {
      lastChangeAt = Date.now();
      if (local) {
        local.close();
        local = undefined;
        localLeaves += 1;
        await eventually(() => app.counter.count === 6, 'the local viewer to leave');
      } else {
        local = await Viewer.open(app.url);
        await eventually(() => app.counter.count === 7, 'the local viewer to join');
      }
    }
    counts.add(app.counter.count);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const final = local ? 7 : 6;
  let seen: ViewerState[] = [];
  const showFinal = async (): Promise<boolean> => {
    seen = await viewers.state();
    return seen.every((viewer) => !viewer.ended && viewer.lastPart !== undefined && showsCount(viewer.lastPart, final));
  };
  await eventually(showFinal, `the six to show ${final} on their open streams`, 20_000).catch((error: Error) => {
    throw new Error(`${error.message}; they have ${JSON.stringify(seen.map(({ ended, parts }) => ({ ended, parts })))}; the server's side:\n${network.serverConnections()}`);
  });
  console.log(`[slow link] ${seen.map((viewer) => viewer.parts).join(', ')} parts received; the count took ${[...counts].sort().join(', ')}`);
  expect([...counts].sort()).toEqual([6, 7]);
  expect(disconnects).toBe(localLeaves);
  expect(app.counter.count).toBe(final);
}, 90_000);
