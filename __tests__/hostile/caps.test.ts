import { MemoryCountStore } from '../../lib/index.js';
import type { Options } from '../../lib/index.js';
import { quietLogger, startCounterApp } from '../helpers/counter-app.js';
import { eventually, sleep } from '../helpers/time.js';
import type { CounterApp, StartOptions } from '../helpers/counter-app.js';
import { RawConnection, imageRequest } from '../helpers/raw-connection.js';
import type { ConnectOptions } from '../helpers/raw-connection.js';
import type { RawHead } from '../helpers/response-wire.js';
import { showsCount } from '../../support/png.js';

interface RecordedApp extends CounterApp {
  /** The counter's total at every `change` event, in order. */
  readonly changes: number[];
  /** The store's total at every store `change`: a refused request must add nothing here either. */
  readonly storeCounts: number[];
  readonly logger: ReturnType<typeof quietLogger>;
}

async function startRecorded(options: Options, start?: StartOptions): Promise<RecordedApp> {
  const store = new MemoryCountStore();
  const storeCounts: number[] = [];
  store.events.on('change', () => storeCounts.push(store.count()));
  const logger = quietLogger();
  const app = await startCounterApp({ ...options, store, logger }, start);
  const changes: number[] = [];
  app.counter.events.on('change', ({ count }) => changes.push(count));
  return Object.assign(app, { changes, storeCounts, logger });
}

/** A stream request from `localAddress` (default 127.0.0.1); resolves with its response head. */
async function request(url: string, { extra = [] as [string, string][], ...connect }: ConnectOptions & { extra?: [string, string][] } = {}) {
  const connection = await RawConnection.send(url, imageRequest(url, { extra }), connect);
  const head = await connection.waitForHead();
  return { connection, head };
}

/** A refusal: the status, `Retry-After`, a short plain-text reason, no stream. */
async function expectRefusal(connection: RawConnection, head: RawHead, status: number): Promise<string> {
  expect(head.status).toBe(status);
  expect(head.headers['content-type']).toMatch(/^text\/plain/);
  expect(head.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  expect(head.headers['content-type']).not.toMatch(/multipart/);
  // Chunked or with a Content-Length: wait for the end of the body either way.
  const length = head.headers['content-length'];
  await connection.waitFor(
    (c) => (length === undefined ? c.data.subarray(head.bodyOffset).includes('\r\n0\r\n\r\n') : c.body.length >= Number(length)),
    'the whole refusal text',
  );
  const reason = connection.body.toString('utf8');
  expect(reason.length).toBeGreaterThan(0);
  expect(reason.length).toBeLessThan(200);
  return reason;
}

describe('maxConnectionsPerIp', () => {
  test('the 4th stream from one address gets 429 and is never counted; another address still streams; a freed place is taken again', async () => {
    const app = await startRecorded({ maxConnectionsPerIp: 3 });
    const first = await Promise.all([1, 2, 3].map(() => request(app.url)));
    for (const { head } of first) expect(head.status).toBe(200);
    await eventually(() => app.counter.count === 3, 'count 3');

    const fourth = await request(app.url);
    const reason = await expectRefusal(fourth.connection, fourth.head, 429);
    expect(reason).toMatch(/address/i);
    expect(app.counter.count).toBe(3);

    const other = await request(app.url, { localAddress: '127.0.0.2' });
    expect(other.head.status).toBe(200);
    await other.connection.waitFor((c) => c.parts.some((png) => showsCount(png, 4)), 'a frame showing 4 from 127.0.0.2');

    first[0].connection.destroy();
    await eventually(() => app.counter.count === 3, 'count back to 3 after one of the first three left');
    const again = await request(app.url);
    expect(again.head.status).toBe(200);
    await eventually(() => app.counter.count === 4, 'the freed place taken again');

    // The refused request never shows in any total, at any moment.
    expect(app.changes).toEqual([1, 2, 3, 4, 3, 4]);
    expect(app.storeCounts).toEqual([1, 2, 3, 4, 3, 4]);
  });

  test('a burst of 20 simultaneous requests from one address admits exactly 3; the total never passes 3', async () => {
    const app = await startRecorded({ maxConnectionsPerIp: 3 });
    const burst = await Promise.all(Array.from({ length: 20 }, () => request(app.url)));
    const statuses = burst.map(({ head }) => head.status).sort();
    expect(statuses.filter((status) => status === 200)).toHaveLength(3);
    expect(statuses.filter((status) => status === 429)).toHaveLength(17);
    await sleep(200);
    expect(app.counter.count).toBe(3);
    expect(Math.max(...app.changes)).toBe(3);
    expect(Math.max(...app.storeCounts)).toBe(3);
    for (const { connection } of burst) connection.destroy();
    await eventually(() => app.counter.count === 0, 'count 0 after the burst left');
  });

  test("with app.set('trust proxy', true) the cap applies per X-Forwarded-For address, and nothing is logged", async () => {
    const app = await startRecorded({ maxConnectionsPerIp: 3 }, { before: (express) => express.set('trust proxy', true) });
    const forwarded = (address: string): { extra: [string, string][] } => ({ extra: [['X-Forwarded-For', address]] });
    const first = await Promise.all([1, 2, 3].map(() => request(app.url, forwarded('203.0.113.7'))));
    for (const { head } of first) expect(head.status).toBe(200);

    const fourth = await request(app.url, forwarded('203.0.113.7'));
    await expectRefusal(fourth.connection, fourth.head, 429);
    // Same socket address (127.0.0.1), other viewers behind the proxy: admitted.
    const otherViewer = await request(app.url, forwarded('203.0.113.8'));
    expect(otherViewer.head.status).toBe(200);
    const chained = await request(app.url, forwarded('198.51.100.1, 203.0.113.7'));
    expect(chained.head.status).toBe(200);

    await eventually(() => app.counter.count === 5, 'count 5');
    expect(app.changes).toEqual([1, 2, 3, 4, 5]);
    expect(app.logger.warn).not.toHaveBeenCalled();
  });

  test('X-Forwarded-For values with a port count as one address whatever the port', async () => {
    const app = await startRecorded({ maxConnectionsPerIp: 3 }, { before: (express) => express.set('trust proxy', true) });
    const statuses = [];
    for (const port of [5001, 5002, 5003, 5004, 5005]) {
      statuses.push((await request(app.url, { extra: [['X-Forwarded-For', `203.0.113.7:${port}`]] })).head.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect((await request(app.url, { extra: [['X-Forwarded-For', '[2001:db8::1]:5006']] })).head.status).toBe(200);
    await eventually(() => app.counter.count === 4, 'count 4');
  });

  test('without trust proxy, requests carrying X-Forwarded-For share the socket address, and hitting the cap logs one warning naming trust proxy', async () => {
    const app = await startRecorded({ maxConnectionsPerIp: 3 });
    const results = [];
    for (const address of ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4', '203.0.113.5', '203.0.113.6']) {
      results.push(await request(app.url, { extra: [['X-Forwarded-For', address]] }));
    }
    expect(results.map(({ head }) => head.status)).toEqual([200, 200, 200, 429, 429, 429]);
    expect(app.counter.count).toBe(3);
    expect(app.logger.warn).toHaveBeenCalledTimes(1);
    const [message] = app.logger.warn.mock.calls[0] as [string];
    expect(message).toMatch(/trust proxy/);
    expect(message).toMatch(/maxConnectionsPerIp/);
    // No address a client sent or connected from (README, Abuse and limits: no raw request data in logs).
    expect(message).not.toMatch(/203\.0\.113|127\.0\.0\.1/);
  });

  test('hitting the per-address cap without X-Forwarded-For logs nothing', async () => {
    const app = await startRecorded({ maxConnectionsPerIp: 1 });
    expect((await request(app.url)).head.status).toBe(200);
    const refused = await request(app.url);
    await expectRefusal(refused.connection, refused.head, 429);
    expect(app.logger.warn).not.toHaveBeenCalled();
  });
});

describe('maxConnections', () => {
  test('the 6th stream gets 503 with Retry-After from any address, is never counted, and a freed place is taken again', async () => {
    const app = await startRecorded({ maxConnections: 5 });
    const addresses = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
    const admitted = [];
    for (const localAddress of addresses) admitted.push(await request(app.url, { localAddress }));
    for (const { head } of admitted) expect(head.status).toBe(200);
    await eventually(() => app.counter.count === 5, 'count 5');

    for (const localAddress of ['127.0.0.6', '127.0.0.1']) {
      const sixth = await request(app.url, { localAddress });
      const reason = await expectRefusal(sixth.connection, sixth.head, 503);
      expect(reason).toMatch(/limit/i);
    }
    expect(app.counter.count).toBe(5);

    admitted[2].connection.destroy();
    await eventually(() => app.counter.count === 4, 'count 4');
    const again = await request(app.url, { localAddress: '127.0.0.6' });
    expect(again.head.status).toBe(200);
    await again.connection.waitFor((c) => c.parts.some((png) => showsCount(png, 5)), 'a frame showing 5');
    expect(app.changes).toEqual([1, 2, 3, 4, 5, 4, 5]);
    expect(app.storeCounts).toEqual([1, 2, 3, 4, 5, 4, 5]);
  });
});
