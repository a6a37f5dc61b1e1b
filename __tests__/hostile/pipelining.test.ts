import { startCounterApp } from '../helpers/counter-app.js';
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
