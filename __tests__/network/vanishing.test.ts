// Viewers on a real network that vanishes, drops out, or crawls (README, What the count means):
// each viewer from its own address in a network namespace of the test's own, whose packets the
// test drops with iptables rules and slows with tc tbf inside that namespace. Default options:
// what a user gets without asking.
import { startCounterApp } from '../helpers/counter-app.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import { USER_AGENTS } from '../helpers/user-agents.js';
import { showsCount } from '../../support/png.js';
import { TestNetwork } from '../../support/network/test-network.js';
import { startViewersOver } from '../helpers/network-viewers.js';
import type { ViewersOver } from '../../support/network/viewers-over.js';
import type { ViewerSpec, ViewerState } from '../../support/network/viewers-over.js';

/** The default `vanishTimeoutMs`, and what the README promises a vanished viewer. */
const VANISH_TIMEOUT_MS = 20_000;
const LEAVES_WITHIN_MS = 30_000;


/** Three viewers with Chromium's framing (no heartbeat bytes), three with Firefox's (heartbeats). */
function sixViewers(network: TestNetwork, path?: string): ViewerSpec[] {
  return network.viewerAddresses.map((localAddress, i) => ({ localAddress, path, userAgent: i < 3 ? USER_AGENTS.chromium : USER_AGENTS.firefoxLinux }));
}

/** A counter listening on the network's server address, and six viewers streaming from the namespace. */
async function viewersOnTheirOwnNetwork(options: { keepAliveMs?: number } = {}): Promise<{ network: TestNetwork; app: CounterApp; viewers: ViewersOver }> {
  const network = await TestNetwork.create(6);
  const app = await startCounterApp(options, { host: network.serverAddress });
  const viewers = await startViewersOver(network);
  expect(await viewers.open(app.url, sixViewers(network))).toEqual([200, 200, 200, 200, 200, 200]);
  await eventually(() => app.counter.count === 6, `the server to count the six viewers, it counts ${app.counter.count}`);
  // Every viewer shows 6 and has acknowledged every byte: from the cut on, the server sends only
  // what it chooses to (keep-alives, heartbeats), not the tail of the joins' broadcasts.
  await eventually(async () => (await viewers.state()).every((viewer) => viewer.lastPart !== undefined && showsCount(viewer.lastPart, 6)), 'the six viewers to show 6');
  await eventually(() => !/unacked:/.test(network.serverConnections()), 'the server to have every byte it sent acknowledged');
  return { network, app, viewers };
}

/** When each stream the server holds ended, in ms since `since`. */
function disconnectTimes(app: CounterApp, since: () => number): number[] {
  const times: number[] = [];
  app.counter.events.on('disconnect', () => times.push(Date.now() - since()));
  return times;
}

describe('a viewer whose network vanishes (no FIN, no RST)', () => {
  // Keep-alives off: nothing is sent after the cut, and the kernel's own probes carry the bound.
  test.each([
    ['', {}],
    [', and with keepAliveMs: 0 (nothing sent after the cut)', { keepAliveMs: 0 }],
  ])(`leaves the count within ${LEAVES_WITHIN_MS / 1000} s, and not before vanishTimeoutMs (${VANISH_TIMEOUT_MS / 1000} s), with and without heartbeat bytes%s`, async (_, options) => {
    const { network, app } = await viewersOnTheirOwnNetwork(options);
    let cutAt = 0;
    const left = disconnectTimes(app, () => cutAt);
    cutAt = Date.now();
    await network.cut();
    await eventually(() => app.counter.count === 0, `every vanished viewer to leave, the server counts ${app.counter.count}`, LEAVES_WITHIN_MS + 5000);
    console.log(`[vanished${JSON.stringify(options)}] six viewers left ${left.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s after their network vanished`);
    expect(left).toHaveLength(6);
    // The kernel gave up on unacknowledged bytes: never sooner than the limit, always within the promise.
    for (const ms of left) {
      expect(ms).toBeGreaterThanOrEqual(VANISH_TIMEOUT_MS - 1000);
      expect(ms).toBeLessThanOrEqual(LEAVES_WITHIN_MS);
    }
  }, 60_000);
});

describe('a viewer whose network drops out for 10 s', () => {
  test('keeps its stream and its place in the count, and shows the next change once back', async () => {
    const { network, app, viewers } = await viewersOnTheirOwnNetwork();
    const left = disconnectTimes(app, () => 0);
    await network.cut();
    const cutAt = Date.now();
    // Counted all through the outage.
    while (Date.now() - cutAt < 10_000) {
      expect(app.counter.count).toBe(6);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await network.restore();
    // A seventh viewer joins from the same network: the six see 7 on their streams.
    await viewers.open(app.url, [{ localAddress: network.viewerAddresses[0], userAgent: USER_AGENTS.chromium }]);
    let seen: ViewerState[] = [];
    const showSeven = async (): Promise<boolean> => {
      seen = await viewers.state();
      return seen.every((viewer) => !viewer.ended && viewer.lastPart !== undefined && showsCount(viewer.lastPart, 7));
    };
    await eventually(showSeven, 'all seven viewers to show 7 on open streams', 20_000).catch((error: Error) => {
      throw new Error(`${error.message}; they have ${JSON.stringify(seen.map(({ ended, parts }) => ({ ended, parts })))}; the server's side:\n${network.serverConnections()}`);
    });
    expect(left).toEqual([]);
    expect(app.counter.count).toBe(7);
  }, 60_000);
});
