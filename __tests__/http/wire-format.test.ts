// The wire format of the image stream, byte for byte: response headers and RFC 2046 §5.1.1
// framing, checked by the strict reader of helpers/strict-multipart.ts and by an independent
// parser from npm. Heartbeat bytes: heartbeats.test.ts; keep-alive re-sends: keepalive.test.ts.
import { startCounterApp } from '../helpers/counter-app.js';
import { RawConnection } from '../helpers/raw-connection.js';
import { PART_HEADERS, boundaryOf, checkClosedBody, crlfOnly, joinAndLeaveSeenBy, lastStrictPart, readMultipart } from '../helpers/strict-multipart.js';
import { eventually, sleep } from '../helpers/time.js';
import { Viewer } from '../helpers/viewer.js';
import { expectedEndedFrame, samePixels, showsCount } from '../../support/png.js';

/** Whether `part` is the last frame of a stream the server ended while it showed `count` (dimmed). */
const showsEnded = (part: Buffer, count: number) => samePixels(part, expectedEndedFrame(count));

/** Every value of the response header `name` (lower case), as sent. */
function header(raw: RawConnection, name: string): string[] {
  return raw.head!.fields.filter(([key]) => key.toLowerCase() === name).map(([, value]) => value);
}

describe('response headers', () => {
  test('the stream answers with exactly the multipart, no-cache, no-buffering headers and no length or encoding', async () => {
    const { url } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0 });
    const raw = await RawConnection.open(url);
    await raw.waitForHead();
    expect(raw.head!.text.startsWith('HTTP/1.1 200 ')).toBe(true);
    expect(crlfOnly(Buffer.from(raw.head!.text, 'latin1'))).toBe(true);

    const contentType = header(raw, 'content-type');
    expect(contentType).toHaveLength(1);
    const boundary = /^multipart\/x-mixed-replace; boundary=([^";\s]+)$/.exec(contentType[0])?.[1];
    expect(boundary).toMatch(/^[A-Za-z0-9]{24,70}$/);
    expect(header(raw, 'cache-control')).toEqual(['no-store, no-cache, must-revalidate, no-transform']);
    expect(header(raw, 'pragma')).toEqual(['no-cache']);
    expect(header(raw, 'expires')).toEqual(['0']);
    expect(header(raw, 'x-accel-buffering')).toEqual(['no']);
    expect(header(raw, 'x-content-type-options')).toEqual(['nosniff']);
    // Every stream ends by closing its connection (hostile/connections.test.ts).
    expect(header(raw, 'connection')).toEqual(['close']);
    expect(header(raw, 'content-length')).toEqual([]);
    expect(header(raw, 'content-encoding')).toEqual([]);
    raw.destroy();
  });

  test('each stream gets its own random boundary of 24+ alphanumerics, and each counter a different one', async () => {
    const first = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0 });
    const second = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0 });
    const boundaries = [];
    for (const { url } of [first, second]) {
      const viewer = await Viewer.open(url);
      boundaries.push(boundaryOf(viewer.headers['content-type']));
      viewer.close();
    }
    for (const boundary of boundaries) {
      expect(boundary).toMatch(/^[A-Za-z0-9]{24,70}$/);
      expect(boundary.startsWith('--')).toBe(false);
    }
    expect(boundaries[0]).not.toBe(boundaries[1]);
  });
});

describe('golden framing', () => {
  test('one viewer: dash-boundary, PNG parts each followed at once by the next headers, then the close-delimiter', async () => {
    const { url, counter } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0 });
    const raw = await RawConnection.open(url);
    await raw.waitForHead();
    const boundary = boundaryOf(raw.head!.headers['content-type']);
    const advance = Buffer.from(`\r\n--${boundary}\r\n${PART_HEADERS}`, 'latin1');

    await eventually(() => {
      const { parts } = readMultipart(raw.body, boundary);
      return parts.length > 0 && showsCount(raw.body.subarray(parts.at(-1)!.start, parts.at(-1)!.end), 1);
    }, 'a complete part showing 1', 10_000);
    await sleep(300);
    // Settled: the next part's headers are already here, with no byte of its body.
    const settled = raw.body;
    expect(settled.subarray(settled.length - advance.length).equals(advance)).toBe(true);
    expect(readMultipart(settled, boundary).openPartStart).toBe(settled.length);
    // Every write that ends a PNG carries the advance headers in the same write.
    let offset = 0;
    const partEnds = new Set(readMultipart(settled, boundary).parts.map(({ end }) => end));
    for (const write of raw.writes) {
      offset += write.length;
      for (const end of partEnds) {
        if (end > offset - write.length && end <= offset) expect(offset).toBe(end + advance.length);
      }
    }

    await counter.close();
    await eventually(() => raw.bodyEnded || raw.closed, 'the stream to end');
    const body = raw.body;
    expect(body.subarray(body.length - `\r\n--${boundary}--\r\n`.length).toString('latin1')).toBe(`\r\n--${boundary}--\r\n`);
    const parts = checkClosedBody(body, boundary);
    expect(parts.length).toBeGreaterThanOrEqual(2);
    for (const part of parts.slice(0, -1)) expect(showsCount(part, 0) || showsCount(part, 1)).toBe(true);
    // The last part is the count shown, drawn as ended, complete, so the image keeps showing it.
    expect(showsEnded(parts.at(-1)!, 1)).toBe(true);
  });

  test('a viewer that sees the count go 1, 2, 1 gets a well-formed stream read alike by the strict reader and the npm parser', async () => {
    const { url, counter } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0 });
    const raw = await RawConnection.open(url);
    await raw.waitForHead();
    const boundary = boundaryOf(raw.head!.headers['content-type']);
    const lastPart = () => lastStrictPart(raw.body, boundary);
    await eventually(() => lastPart() !== undefined && showsCount(lastPart()!, 1), 'a part showing 1', 10_000);
  await joinAndLeaveSeenBy(raw, url, boundary);

    await counter.close();
    await eventually(() => raw.bodyEnded || raw.closed, 'the stream to end');
    const parts = checkClosedBody(raw.body, boundary);
    expect(showsEnded(parts.at(-1)!, 1)).toBe(true);
    const shown = parts.slice(0, -1).map((part) => [0, 1, 2].find((n) => showsCount(part, n)));
    expect(shown).not.toContain(undefined);
    // In order: 1s, then 2s, then 1s (a stale 0 may come first, corrected at once).
    const changes = shown.filter((n, i) => i === 0 || n !== shown[i - 1]);
    expect(changes.filter((n) => n !== 0)).toEqual([1, 2, 1]);
  });

  test('the Viewer helper’s streaming parser and the strict reader find the same parts in its body', async () => {
    const { url, counter } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0 });
    const viewer = await Viewer.open(url);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1', 10_000);
    const boundary = boundaryOf(viewer.headers['content-type']);
    await counter.close();
    await viewer.waitForEnd();
    const parts = checkClosedBody(viewer.body, boundary);
    expect(viewer.frames.length).toBe(parts.length);
    viewer.frames.forEach((frame, i) => expect(frame.equals(parts[i])).toBe(true));
  });
});
