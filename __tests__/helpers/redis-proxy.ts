import net from 'node:net';
import { freePort } from '../../support/free-port.js';
import type { TestRedis } from './redis-server.js';

/**
 * A TCP proxy on a free loopback port in front of an external Redis (`REDIS_URL`), so that a
 * test can cut the network (`stop`) and restore it (`start`) while the data stays.
 */
export async function startRedisProxy(targetHost: string, targetPort: number): Promise<TestRedis> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const port = await freePort();
  const start = async (): Promise<void> => {
    if (server) return;
    const listening = net.createServer((client) => {
      const upstream = net.connect(targetPort, targetHost);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    server = listening;
    await new Promise<void>((resolve) => listening.listen(port, '127.0.0.1', resolve));
  };
  const stop = async (): Promise<void> => {
    const listening = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (listening) await new Promise<void>((resolve) => listening.close(() => resolve()));
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, host: '127.0.0.1', port, start, stop, close: stop };
}
