import { quietLogger, startCounterApp } from '../helpers/counter-app.js';
import { eventually, sleep } from '../helpers/time.js';
import { RawConnection, imageRequest } from '../helpers/raw-connection.js';
import { decodePng, showsCount } from '../../support/png.js';

/**
 * Odd requests a browser would not send but a client may: HTTP/1.0 (no chunked encoding),
 * headers sent only half-way, and header values full of escape sequences meant for a log.
 */

test('an HTTP/1.0 viewer gets the stream without chunked encoding, frames readable, and is counted until it leaves', async () => {
  const { url, counter } = await startCounterApp();
  const connection = await RawConnection.send(url, imageRequest(url, { version: 'HTTP/1.0' }));
  const head = await connection.waitForHead();
  expect(head.status).toBe(200);
  expect(head.headers['transfer-encoding']).toBeUndefined();
  expect(head.headers['content-length']).toBeUndefined();
  const boundary = /boundary=(\S+)/.exec(head.headers['content-type'])![1];
  expect(connection.body.subarray(0, boundary.length + 4).toString('latin1')).toBe(`--${boundary}\r\n`);
  await connection.waitFor((c) => c.parts.some((png) => showsCount(png, 1)), 'a frame showing 1');
  expect(decodePng(connection.parts[0]).width).toBe(200);
  expect(counter.count).toBe(1);
  connection.destroy();
  await eventually(() => counter.count === 0, 'count 0');
});

test('requests that stop half-way through the headers are never counted, and leave nothing when they go', async () => {
  const { url, counter } = await startCounterApp();
  const request = imageRequest(url);
  const halves = await Promise.all(
    Array.from({ length: 30 }, (_, i) => RawConnection.send(url, request.slice(0, 10 + ((i * 7) % (request.length - 14))))),
  );
  const whole = await RawConnection.send(url, request);
  await whole.waitForParts(1);
  await sleep(300);
  expect(counter.count).toBe(1);
  for (const half of halves) expect(half.received).toBe(0);
  for (const half of halves) half.destroy();
  whole.destroy();
  await eventually(() => counter.count === 0, 'count 0');
});

test('a cap warning triggered by requests full of escape sequences is one line with no control characters', async () => {
  const logger = quietLogger();
  const { url } = await startCounterApp({ maxConnectionsPerIp: 1, logger });
  const hostile: [string, string][] = [
    ['X-Forwarded-For', '203.0.113.1\xc2\x9b31m'],
    ['User-Agent', 'evil\xff\xfe'],
  ];
  for (const target of ['/online.png', '/online.png?%1B%5B31m%0d%0aInjected', '/online.png']) {
    const connection = await RawConnection.send(url, imageRequest(url, { path: target, extra: hostile }));
    await connection.waitForHead();
  }
  expect(logger.warn).toHaveBeenCalledTimes(1);
  const [line] = logger.warn.mock.calls[0] as [string];
  expect(line).not.toMatch(/[\x00-\x1f\x7f\x9b]/);
  expect(line).not.toContain('Injected');
});
