import { removeAllTestNetworks } from '../../support/network/test-network.js';
import type { TestNetwork } from '../../support/network/test-network.js';
import { ViewersOver } from '../../support/network/viewers-over.js';
import { closeAfterEachTest } from './cleanup.js';

// Viewers in a test network's namespace, stopped after each test (./cleanup.ts), and then every
// test network removed: its namespace, veth pair and the iptables and tc rules inside it.

const started = new Set<ViewersOver>();

closeAfterEachTest(async () => {
  const stopping = [...started];
  started.clear();
  await Promise.all(stopping.map((viewers) => viewers.stop()));
  await removeAllTestNetworks();
});

/** Viewers streaming from `network`'s namespace, until the test ends. */
export async function startViewersOver(network: TestNetwork): Promise<ViewersOver> {
  const viewers = await ViewersOver.start(network);
  started.add(viewers);
  return viewers;
}
