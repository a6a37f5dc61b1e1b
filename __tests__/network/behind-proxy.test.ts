// Behind a proxy, the proxy holds the viewer's connection: a viewer whose network vanishes is the
// proxy's to notice (README, Deploying). docs/haproxy.cfg does it with `tcp-ut` on its binds; here
// HAProxy runs that recipe on a test network's server address, and its viewers' packets are dropped.
import type { AddressInfo } from 'node:net';
import { startCounterApp } from '../helpers/counter-app.js';
import { appOptionsOf, RECIPES, startProxy } from '../helpers/proxies.js';
import { eventually } from '../helpers/time.js';
import { USER_AGENTS } from '../helpers/user-agents.js';
import { TestNetwork } from '../../support/network/test-network.js';
import { startViewersOver } from '../helpers/network-viewers.js';

const HAPROXY = RECIPES.find(({ file }) => file === 'docs/haproxy.cfg')!;
const LEAVES_WITHIN_MS = 30_000;

test(`behind HAProxy (${HAPROXY.file}, tcp-ut 20s), viewers whose network vanishes leave within ${LEAVES_WITHIN_MS / 1000} s, with and without heartbeat bytes`, async () => {
  const network = await TestNetwork.create(4);
  const app = await startCounterApp(appOptionsOf(HAPROXY), { before: (express) => express.set('trust proxy', 1) });
  const proxy = await startProxy(HAPROXY, (app.server.address() as AddressInfo).port, { host: network.serverAddress });
  const viewers = await startViewersOver(network);
  const specs = network.viewerAddresses.map((localAddress, i) => ({ localAddress, userAgent: i < 2 ? USER_AGENTS.chromium : USER_AGENTS.firefoxLinux }));
  expect(await viewers.open(proxy.url('http/1.1'), specs)).toEqual([200, 200, 200, 200]);
  await eventually(() => app.counter.count === 4, `the app to count the four viewers, it counts ${app.counter.count}`);
  const cutAt = Date.now();
  await network.cut();
  await eventually(() => app.counter.count === 0, `HAProxy to give up the vanished viewers, the app counts ${app.counter.count}`, LEAVES_WITHIN_MS + 5000);
  const leftAfter = Date.now() - cutAt;
  console.log(`[behind HAProxy] four vanished viewers left within ${(leftAfter / 1000).toFixed(1)} s`);
  expect(leftAfter).toBeLessThanOrEqual(LEAVES_WITHIN_MS);
}, 60_000);
