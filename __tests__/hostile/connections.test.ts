import type { Socket } from 'node:net';
import { closeAllApps, eventually, startCounterApp } from '../helpers/counter-app.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { RawConnection, imageRequest, rawRequest } from '../helpers/raw-http.js';

/**
 * What one connection can hold: a request pipelined behind an open stream closes the
 * connection (it could never be answered, and Node would keep it); a stream the server ends
 * closes its connection within a bound, and holds its place under the caps until then.
 */

const connections: RawConnection[] = [];

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.destroy();
  await closeAllApps();
});

async function connect(url: string, request: string): Promise<RawConnection> {
  const connection = await RawConnection.send(url, request);
  connections.push(connection);
  return connection;
}

/** The server's open sockets, as the server sees them. */
function serverSockets(app: CounterApp): Set<Socket> {
  const open = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  });
  return open;
}

describe('pipelining behind an open stream', () => {
  test('a client that keeps pipelining stream requests behind its open stream is disconnected, and leaves nothing counted', async () => {
    const { url, counter } = await startCounterApp();
    const connection = await connect(url, imageRequest(url));
    await connection.waitForParts(1);
    expect(counter.count).toBe(1);
    // Each of these would wait, with its request and response, for a socket it never gets.
    for (let i = 0; i < 200 && !connection.closed; i++) connection.write(imageRequest(url));
    await connection.waitForClose(10_000);
    await eventually(() => counter.count === 0, 'count 0', 10_000);
    // Nothing after the stream was answered.
    expect(connection.statuses).toEqual([200]);
  });

  test('a request for any other route pipelined behind an open stream closes the connection too', async () => {
    const { url, counter } = await startCounterApp({}, { after: (app) => app.get('/page', (_req, res) => void res.send('page')) });
    const connection = await connect(url, imageRequest(url));
    await connection.waitForParts(1);
    connection.write(rawRequest('GET', '/page', [['Host', new URL(url).host]]));
    await connection.waitForClose(10_000);
    await eventually(() => counter.count === 0, 'count 0', 10_000);
  });

  test('a stream request with another request already queued behind it in the same write never streams', async () => {
    const { url, counter } = await startCounterApp();
    const connection = await connect(url, imageRequest(url) + imageRequest(url) + imageRequest(url));
    await connection.waitForClose(10_000);
    await eventually(() => counter.count === 0, 'count 0', 10_000);
    // Other clients are served as usual.
    const json = await connect(url, rawRequest('GET', '/online.json', [['Host', new URL(url).host]]));
    await json.waitFor((c) => c.body.toString().includes('"count":0'), 'the JSON count', 10_000);
  });
});

describe('the connection of a stream the server ends', () => {
  test('a viewer that stopped reading keeps its place under maxConnectionsPerIp until its socket is really closed', async () => {
    const app = await startCounterApp({ maxStreamMs: 300, maxConnectionsPerIp: 5, stallTimeoutMs: 10_000 });
    const open = serverSockets(app);
    const stalled = await Promise.all(Array.from({ length: 5 }, () => connect(app.url, imageRequest(app.url))));
    for (const connection of stalled) connection.pause();
    await eventually(() => app.counter.count === 5, 'count 5', 10_000);
    // maxStreamMs ends them all; the sockets remain until their end is taken or the grace is over.
    await eventually(() => app.counter.count === 0, 'the streams ended', 10_000);
    // How many other sockets were open when a new stream was admitted.
    const othersOpenAtAdmission: number[] = [];
    app.counter.events.on('connect', () => othersOpenAtAdmission.push(open.size - 1));
    const sixth = await connect(app.url, imageRequest(app.url));
    const head = await sixth.waitForHead(10_000);
    // Admitted only once the ended streams' sockets were gone: never more sockets than places.
    if (head.status === 200) expect(othersOpenAtAdmission).toEqual([0]);
    else expect(head.status).toBe(429);
  });

  test('every socket of a stream the server ended closes within stallTimeoutMs, even with keepAliveTimeout off', async () => {
    const app = await startCounterApp({ maxStreamMs: 300, stallTimeoutMs: 1000 });
    app.server.keepAliveTimeout = 0;
    const open = serverSockets(app);
    const readers = await Promise.all(Array.from({ length: 3 }, () => connect(app.url, imageRequest(app.url))));
    const stalled = await Promise.all(Array.from({ length: 3 }, () => connect(app.url, imageRequest(app.url))));
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
    const readers = await Promise.all(Array.from({ length: 3 }, () => connect(app.url, imageRequest(app.url))));
    for (const reader of readers) await reader.waitForParts(1);
    await app.counter.close();
    await eventually(() => open.size === 0, 'every server socket closed', 10_000);
  });
});
