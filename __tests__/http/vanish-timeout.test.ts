// What a stream's connection tells the kernel about a viewer whose network vanishes
// (vanishTimeoutMs; the behaviour itself is proven on a real vanishing network in network/).
// Read back with getsockopt on the server's own socket.
import type { Socket } from 'node:net';
import { startCounterApp, quietLogger } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import { Viewer } from '../helpers/viewer.js';

const TCP_USER_TIMEOUT = 18;
const TCP_RTO_MAX_MS = 44;

/** `getsockopt(fd, IPPROTO_TCP, option)` as an int. */
function tcpOption(socket: Socket, option: number): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as typeof import('koffi');
  const getsockopt = koffi.load(null).func('int getsockopt(int, int, int, _Out_ void *, _Inout_ uint32_t *)');
  const value = Buffer.alloc(4);
  const fd = (socket as Socket & { _handle: { fd: number } })._handle.fd;
  expect(getsockopt(fd, 6, option, value, [4])).toBe(0);
  return value.readUInt32LE();
}

/** A counter app that keeps the server's side of each stream's connection. */
async function appKeepingSockets(options: Parameters<typeof startCounterApp>[0]) {
  const sockets: Socket[] = [];
  const app = await startCounterApp(options, { before: (express) => express.use((req, _res, next) => (sockets.push(req.socket), next())) });
  return { ...app, sockets };
}

test("a stream's connection gives up after vanishTimeoutMs unacknowledged (TCP_USER_TIMEOUT) and retries at least every tenth of it (TCP_RTO_MAX_MS)", async () => {
  const { url, counter, sockets } = await appKeepingSockets({ vanishTimeoutMs: 40_000 });
  await Viewer.open(url);
  await eventually(() => counter.count === 1, 'the stream to count');
  expect(tcpOption(sockets[0], TCP_USER_TIMEOUT)).toBe(40_000);
  expect(tcpOption(sockets[0], TCP_RTO_MAX_MS)).toBe(4000);
});

test('by default the limit is 20 s, retried every 2 s; JSON requests are left alone', async () => {
  const { url, counter, sockets } = await appKeepingSockets({});
  await fetch(`${url}/online.json`);
  await Viewer.open(url);
  await eventually(() => counter.count === 1, 'the stream to count');
  expect(sockets.map((socket) => tcpOption(socket, TCP_USER_TIMEOUT))).toEqual([0, 20_000]);
  expect(tcpOption(sockets[1], TCP_RTO_MAX_MS)).toBe(2000);
});

test("vanishTimeoutMs: 0 leaves the kernel's own limits", async () => {
  const { url, counter, sockets } = await appKeepingSockets({ vanishTimeoutMs: 0 });
  await Viewer.open(url);
  await eventually(() => counter.count === 1, 'the stream to count');
  expect(tcpOption(sockets[0], TCP_USER_TIMEOUT)).toBe(0);
  expect(tcpOption(sockets[0], TCP_RTO_MAX_MS)).toBe(120_000);
});

test('without koffi the counter warns once, at start, what a vanished viewer then costs, and streams as before', async () => {
  const logger = quietLogger();
  await jest.isolateModulesAsync(async () => {
    jest.doMock('koffi', () => {
      throw new Error("Cannot find module 'koffi'");
    });
    const { userCounterMiddleware } = await import('../../lib/index.js');
    const express = (await import('express')).default;
    const router = userCounterMiddleware({ logger });
    expect(logger.warn.mock.calls.map(([line]) => String(line))).toEqual([
      expect.stringMatching(/^express-user-counter \[WRN_USER_COUNTER_NO_VANISH_TIMEOUT\]: vanishTimeoutMs cannot be applied: the optional dependency koffi could not be loaded \(Cannot find module 'koffi'\)\. .*about 15 minutes on Linux/),
    ]);
    const app = express();
    app.use(router);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as { port: number };
      const viewers = [await Viewer.open(`http://127.0.0.1:${port}`), await Viewer.open(`http://127.0.0.1:${port}`)];
      for (const viewer of viewers) expect(viewer.status).toBe(200);
      await eventually(() => router.counter.count === 2, 'both streams to count');
      expect(logger.warn).toHaveBeenCalledTimes(1);
    } finally {
      await router.counter.close();
      server.closeAllConnections();
      server.close();
    }
  });
});
