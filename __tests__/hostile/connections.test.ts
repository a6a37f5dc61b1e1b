import type { Socket } from 'node:net';
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { RawConnection, imageRequest } from '../helpers/raw-connection.js';

/**
 * What one connection holds once the server ends its stream: the connection closes within a
 * bound, and holds its place under the caps until then. (Requests pipelined behind a stream:
 * pipelining.test.ts.)
 */

/** The server's open sockets, as the server sees them. */
function serverSockets(app: CounterApp): Set<Socket> {
  const open = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  });
  return open;
}

describe('the connection of a stream the server ends', () => {
  test.each([
    ['HTTP/1.1', []],
    ['HTTP/1.0', [['Connection', 'keep-alive']]],
  ] as [string, [string, string][]][])('an %s stream says Connection: close, so no client or proxy pool sends a request on the connection its end closes', async (version, extra) => {
    const app = await startCounterApp({ maxStreamMs: 300 });
    const connection = await RawConnection.send(app.url, imageRequest(app.url, { version, extra }));
    const head = await connection.waitForHead();
    expect(head.headers.connection).toBe('close');
    await connection.waitForClose(10_000);
  });

  test('a viewer that stopped reading keeps its place under maxConnectionsPerIp until its socket is really closed', async () => {
    const app = await startCounterApp({ maxStreamMs: 300, maxConnectionsPerIp: 5, stallTimeoutMs: 10_000 });
    const open = serverSockets(app);
    const stalled = await Promise.all(Array.from({ length: 5 }, () => RawConnection.send(app.url, imageRequest(app.url))));
    for (const connection of stalled) connection.pause();
    await eventually(() => app.counter.count === 5, 'count 5', 10_000);
    // maxStreamMs ends them all; the sockets remain until their end is taken or the grace is over.
    await eventually(() => app.counter.count === 0, 'the streams ended', 10_000);
    // How many other sockets were open when a new stream was admitted.
    const othersOpenAtAdmission: number[] = [];
    app.counter.events.on('connect', () => othersOpenAtAdmission.push(open.size - 1));
    const sixth = await RawConnection.send(app.url, imageRequest(app.url));
    const head = await sixth.waitForHead(10_000);
    // Admitted only once the ended streams' sockets were gone: never more sockets than places.
    if (head.status === 200) expect(othersOpenAtAdmission).toEqual([0]);
    else expect(head.status).toBe(429);
  });

  test('every socket of a stream the server ended closes within stallTimeoutMs, even with keepAliveTimeout off', async () => {
    const app = await startCounterApp({ maxStreamMs: 300, stallTimeoutMs: 1000 });
    app.server.keepAliveTimeout = 0;
    const open = serverSockets(app);
    const readers = await Promise.all(Array.from({ length: 3 }, () => RawConnection.send(app.url, imageRequest(app.url))));
    const stalled = await Promise.all(Array.from({ length: 3 }, () => RawConnection.send(app.url, imageRequest(app.url))));
    for (const connection of stalled) connection.pause();
    await eventually(() => app.counter.count === 6, 'count 6', 10_000);
    await eventually(() => app.counter.count === 0, 'the streams ended', 10_000);
    await eventually(() => open.size === 0, 'every server socket closed', 10_000);
    for (const reader of readers) await reader.waitForClose(10_000);
  });

  test('close() closes the connections of the streams it ends', async () => {
    const app = await startCounterApp();
    app.server.keepAliveTimeout = 0;
    const open = serverSockets(app);
    const readers = await Promise.all(Array.from({ length: 3 }, () => RawConnection.send(app.url, imageRequest(app.url))));
    for (const reader of readers) await reader.waitForParts(1);
    await app.counter.close();
    await eventually(() => open.size === 0, 'every server socket closed', 10_000);
  });
});
