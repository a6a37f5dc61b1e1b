import { startCounterApp } from '../helpers/counter-app.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import { responseHeads } from '../helpers/fuzz-requests.js';
import { RawConnection, imageRequest, rawRequest } from '../helpers/raw-connection.js';

/**
 * Requests pipelined on one connection. Ahead of a stream they are answered in order; behind
 * an open stream they could never be answered (and Node would keep them), so the connection
 * is closed, and nothing stays counted.
 */

test('a client that keeps pipelining stream requests behind its open stream is disconnected, and leaves nothing counted', async () => {
  const { url, counter } = await startCounterApp();
  const connection = await RawConnection.send(url, imageRequest(url));
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
  const connection = await RawConnection.send(url, imageRequest(url));
  await connection.waitForParts(1);
  connection.write(rawRequest('GET', '/page', [['Host', new URL(url).host]]));
  await connection.waitForClose(10_000);
  await eventually(() => counter.count === 0, 'count 0', 10_000);
});

test('a stream request with another request already queued behind it in the same write never streams', async () => {
  const { url, counter } = await startCounterApp();
  const connection = await RawConnection.send(url, imageRequest(url) + imageRequest(url) + imageRequest(url));
  await connection.waitForClose(10_000);
  await eventually(() => counter.count === 0, 'count 0', 10_000);
  // Other clients are served as usual.
  const json = await RawConnection.send(url, rawRequest('GET', '/online.json', [['Host', new URL(url).host]]));
  await json.waitFor((c) => c.body.toString().includes('"count":0'), 'the JSON count', 10_000);
});

test('pipelined: a JSON request then a stream request in one write are both answered in order; the stream counts', async () => {
  const { url, counter } = await startCounterApp();
  const { host } = new URL(url);
  const json = rawRequest('GET', '/online.json', [['Host', host]]);
  const connection = await RawConnection.send(url, json + imageRequest(url));
  await connection.waitFor((c) => responseHeads(c.data).length === 2, 'two responses');
  const [first, second] = responseHeads(connection.data);
  expect(first.status).toBe(200);
  expect(connection.data.toString('latin1')).toContain('{"count":0}');
  expect(second.status).toBe(200);
  expect(second.headers).toMatch(/multipart\/x-mixed-replace/);
  await eventually(() => counter.count === 1, 'the pipelined stream counted');
  connection.destroy();
  await eventually(() => counter.count === 0, 'count 0');
});

test('pipelined: requests queued behind a stream close the connection (they could never be answered); nothing stays counted', async () => {
  const { url, counter } = await startCounterApp();
  const connection = await RawConnection.send(url, imageRequest(url) + imageRequest(url) + rawRequest('HEAD', '/online.png', [['Host', new URL(url).host]]));
  await connection.waitForClose(10_000);
  expect(responseHeads(connection.data).length).toBeLessThanOrEqual(1);
  await eventually(() => counter.count === 0, 'count 0');
});

describe('requests Node answers itself, pipelined behind an open stream', () => {
  /** Node writes these answers itself, never emitting `request`: each would wait behind the stream. */
  const host = (url: string): [string, string] => ['Host', new URL(url).host];
  test.each<[string, (url: string) => string, (app: CounterApp) => void]>([
    ['Expect: x (417)', (url) => rawRequest('GET', '/online.json', [host(url), ['Expect', 'x']]), () => undefined],
    ['no Host on HTTP/1.1 (400)', () => rawRequest('GET', '/online.json'), () => undefined],
    [
      'Expect: 100-continue with a checkContinue listener',
      (url) => rawRequest('GET', '/online.json', [host(url), ['Expect', '100-continue']]),
      ({ app, server }) => void server.on('checkContinue', (req, res) => app(req, res)),
    ],
    ['past maxRequestsPerSocket (503)', (url) => rawRequest('GET', '/online.json', [host(url)]), ({ server }) => void (server.maxRequestsPerSocket = 1)],
  ])('%s: the first one closes the connection; nothing is queued and nothing stays counted', async (_, request, setUp) => {
    const app = await startCounterApp();
    setUp(app);
    const connection = await RawConnection.send(app.url, imageRequest(app.url));
    await connection.waitForParts(1);
    expect(app.counter.count).toBe(1);
    for (let i = 0; i < 2000 && !connection.closed; i++) connection.write(request(app.url).repeat(10));
    await connection.waitForClose(10_000);
    expect(connection.statuses).toEqual([200]);
    await eventually(() => app.counter.count === 0, 'count 0', 10_000);
  });

  test('a stream request with one of them already read behind it never streams', async () => {
    const { url, counter } = await startCounterApp();
    const json = rawRequest('GET', '/online.json', [host(url)]);
    // The JSON answer is written first, so the stream request waits for the connection while the third is read.
    const connection = await RawConnection.send(url, json + imageRequest(url) + rawRequest('GET', '/online.json', [host(url), ['Expect', 'x']]));
    await connection.waitForClose(10_000);
    expect(connection.statuses).toEqual([200]);
    expect(responseHeads(connection.data)[0].headers).not.toMatch(/multipart/);
    expect(counter.count).toBe(0);
  });
});

test("a request pipelined behind an open stream never reaches the app's routes, wherever they are mounted", async () => {
  const votes: string[] = [];
  const { url, counter } = await startCounterApp(
    {},
    {
      before: (app) => app.post('/vote', (_req, res) => void (votes.push('before the counter'), res.send('ok'))),
      after: (app) => app.post('/ballot', (_req, res) => void (votes.push('after the counter'), res.send('ok'))),
    },
  );
  const { host } = new URL(url);
  for (const path of ['/vote', '/ballot']) {
    const connection = await RawConnection.send(url, imageRequest(url));
    await connection.waitForParts(1);
    connection.write(rawRequest('POST', path, [['Host', host], ['Content-Length', '0']]));
    await connection.waitForClose(10_000);
  }
  await eventually(() => counter.count === 0, 'count 0');
  // Served on a connection of their own, the routes work.
  const own = await RawConnection.send(url, rawRequest('POST', '/vote', [['Host', host], ['Content-Length', '0']]));
  await own.waitFor((c) => c.statuses.length === 1, 'an answer');
  expect(votes).toEqual(['before the counter']);
});
