/*
 * Cleanup after every test, in one place (`setupFilesAfterEnv` in jest.config.js): each helper
 * that opens something (apps, viewers, raw connections, browsers) registers its closer here when
 * a test file imports it, and the one afterEach below closes what the test left open, clients
 * before the apps they are connected to. A test file loads only the helpers it uses.
 */

type Closer = () => Promise<void> | void;

const clients: Closer[] = [];
const servers: Closer[] = [];

/**
 * Run `closer` after every test: `clients` (viewers, connections, browser pages) first,
 * then `servers` (the counter apps).
 */
export function closeAfterEachTest(closer: Closer, stage: 'clients' | 'servers' = 'clients'): void {
  const list = stage === 'clients' ? clients : servers;
  if (!list.includes(closer)) list.push(closer);
}

afterEach(async () => {
  // Every closer runs even if one fails; the first failure then fails the test.
  const results = await Promise.allSettled(clients.map(async (close) => close()));
  results.push(...(await Promise.allSettled(servers.map(async (close) => close()))));
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
});
