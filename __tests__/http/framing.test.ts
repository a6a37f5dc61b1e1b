// The wire format of the image stream, byte for byte: response headers, RFC 2046
// §5.1.1 framing (checked by a strict reader written here and by an independent
// parser from npm), advance part headers, heartbeat bytes, keep-alive re-sends.
import { GECKO_USER_AGENT } from '../helpers/user-agents.js';
import net from 'node:net';
import { parseMultipart } from '@remix-run/multipart-parser';
import { closeAllApps, eventually, startCounterApp } from '../helpers/counter-app.js';
import { PNG } from 'pngjs';
import { createIsolatedEmitter } from '../../lib/events.js';
import { createCanvasRenderer } from '../../lib/frame-renderer.js';
import type { CountStore, CountStoreEvents } from '../../lib/index.js';
import { DEFAULT_IMAGE, decodePng, expectedEndedFrame, expectedFrame, samePixels, showsCount } from '../../support/png.js';
import { Viewer } from '../helpers/viewer.js';

afterEach(closeAllApps);

const PART_HEADERS = 'Content-Type: image/png\r\n\r\n';
/** The PNG signature and IHDR chunk: the most a heartbeat may send ahead of a frame. */
const PNG_HEADER_LENGTH = 33;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Whether `part` is the last frame of a stream the server ended while it showed `count` (dimmed). */
const showsEnded = (part: Buffer, count: number) => samePixels(part, expectedEndedFrame(count));

/**
 * A stream request on a raw TCP socket: the response head exactly as sent, and the
 * body as the list of the server's writes (one HTTP/1.1 chunk per `res.write`), so
 * that the test sees each write whatever TCP does with the bytes.
 */
class RawStream {
  head = '';
  /** The decoded body, one Buffer per HTTP chunk (per server write). */
  readonly writes: Buffer[] = [];
  /** The terminating zero-size chunk arrived. */
  ended = false;
  /** The socket closed. */
  closed = false;
  private pending = Buffer.alloc(0);
  private chunked = false;

  private constructor(readonly socket: net.Socket) {}

  static open(baseUrl: string, path = '/online.png', userAgent?: string): Promise<RawStream> {
    const { hostname, port } = new URL(baseUrl);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname);
      const stream = new RawStream(socket);
      socket.on('connect', () =>
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nReferer: ${baseUrl}/\r\nAccept: image/*\r\n${userAgent ? `User-Agent: ${userAgent}\r\n` : ''}\r\n`,
        ),
      );
      socket.on('data', (data: Buffer) => {
        const hadHead = stream.head !== '';
        stream.receive(data);
        if (!hadHead && stream.head !== '') resolve(stream);
      });
      socket.on('close', () => {
        stream.closed = true;
        if (stream.head === '') reject(new Error('The socket closed before the response head.'));
      });
      socket.on('error', reject);
    });
  }

  /** The response headers as [name, value] pairs, in order, names as sent. */
  get headerLines(): [string, string][] {
    return this.head
      .split('\r\n')
      .slice(1)
      .filter((line) => line !== '')
      .map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon), line.slice(colon + 1).trim()];
      });
  }

  /** Every value of the header `name` (case-insensitive, as HTTP says). */
  header(name: string): string[] {
    return this.headerLines.filter(([key]) => key.toLowerCase() === name.toLowerCase()).map(([, value]) => value);
  }

  get body(): Buffer {
    return Buffer.concat(this.writes);
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(data: Buffer): void {
    this.pending = Buffer.concat([this.pending, data]);
    if (this.head === '') {
      const end = this.pending.indexOf('\r\n\r\n');
      if (end === -1) return;
      this.head = this.pending.toString('latin1', 0, end + 4);
      this.pending = this.pending.subarray(end + 4);
      this.chunked = this.header('transfer-encoding').some((value) => value.toLowerCase() === 'chunked');
    }
    if (!this.chunked) {
      if (this.pending.length > 0) this.writes.push(this.pending);
      this.pending = Buffer.alloc(0);
      return;
    }
    // chunk = size [ext] CRLF data CRLF; last-chunk = "0" CRLF, then trailers and CRLF.
    while (!this.ended) {
      const lineEnd = this.pending.indexOf('\r\n');
      if (lineEnd === -1) return;
      const sizeText = this.pending.toString('latin1', 0, lineEnd).split(';')[0].trim();
      if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`Bad chunk size line: ${JSON.stringify(sizeText)}`);
      const size = parseInt(sizeText, 16);
      if (size === 0) {
        this.ended = true;
        return;
      }
      if (this.pending.length < lineEnd + 2 + size + 2) return;
      const data = this.pending.subarray(lineEnd + 2, lineEnd + 2 + size);
      if (this.pending.toString('latin1', lineEnd + 2 + size, lineEnd + 4 + size) !== '\r\n') {
        throw new Error('A chunk is not followed by CRLF.');
      }
      this.writes.push(Buffer.from(data));
      this.pending = this.pending.subarray(lineEnd + 4 + size);
    }
  }
}

/** A byte range [start, end) of the body. */
interface Range {
  start: number;
  end: number;
}

interface MultipartWalk {
  /** The body ranges of the complete parts. */
  parts: Range[];
  /** The start of the part still being received (its headers are complete), if any. */
  openPartStart: number | undefined;
  /** The stream ended with the close-delimiter and nothing after it. */
  closed: boolean;
  /** Every byte range outside part bodies: delimiters and part headers. */
  framing: Range[];
}

/**
 * A strict reader of RFC 2046 §5.1.1 for this stream: no preamble, the body starts
 * with the dash-boundary; delimiter = CRLF "--" boundary; close-delimiter =
 * delimiter "--"; no transport padding, no epilogue; every part has exactly the
 * header `Content-Type: image/png`. Throws at the first byte that does not fit.
 * A body cut short (a stream still open) is fine: what is complete is returned.
 */
function readMultipart(body: Buffer, boundary: string): MultipartWalk {
  const dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const headers = Buffer.from(PART_HEADERS, 'latin1');
  const walk: MultipartWalk = { parts: [], openPartStart: undefined, closed: false, framing: [] };
  const expect = (at: number, bytes: Buffer, what: string): boolean => {
    const seen = body.subarray(at, at + bytes.length);
    if (!bytes.subarray(0, seen.length).equals(seen)) {
      throw new Error(`Expected ${what} at byte ${at}, got ${JSON.stringify(seen.toString('latin1'))}`);
    }
    return seen.length === bytes.length;
  };

  if (!expect(0, dashBoundary, 'the dash-boundary (no preamble)')) return walk;
  let at = dashBoundary.length;
  let framingStart = 0;
  for (;;) {
    // After a boundary: CRLF and the part's headers, or "--" CRLF to close.
    if (body.length < at + 2) return walk;
    if (body.toString('latin1', at, at + 2) === '--') {
      if (!expect(at + 2, Buffer.from('\r\n'), 'CRLF after the close-delimiter')) return walk;
      if (body.length !== at + 4) throw new Error(`${body.length - at - 4} bytes follow the close-delimiter.`);
      walk.closed = true;
      walk.framing.push({ start: framingStart, end: body.length });
      return walk;
    }
    if (!expect(at, Buffer.from('\r\n'), 'CRLF after the boundary')) return walk;
    if (!expect(at + 2, headers, 'the part headers `Content-Type: image/png` CRLF CRLF')) return walk;
    const partStart = at + 2 + headers.length;
    walk.framing.push({ start: framingStart, end: partStart });
    walk.openPartStart = partStart;
    const partEnd = body.indexOf(delimiter, partStart);
    if (partEnd === -1) return walk;
    walk.parts.push({ start: partStart, end: partEnd });
    walk.openPartStart = undefined;
    framingStart = partEnd;
    at = partEnd + delimiter.length;
  }
}

/** The boundary from the response's Content-Type. */
function boundaryOf(contentType: string | undefined): string {
  const match = /^multipart\/x-mixed-replace; boundary=(.*)$/.exec(String(contentType));
  if (!match) throw new Error(`Not a multipart/x-mixed-replace Content-Type: ${contentType}`);
  return match[1];
}

/** The parts as the independent parser from npm reads the whole body. */
function partsByRemix(body: Buffer, boundary: string): { headers: Record<string, string | undefined>; bytes: Buffer }[] {
  return [...parseMultipart(body, { boundary, maxParts: Infinity, maxFileSize: Infinity, maxTotalSize: Infinity })].map(
    (part) => ({ headers: { ...part.headers }, bytes: Buffer.from(part.bytes) }),
  );
}

/** No bare CR or LF in `bytes`: every CR is followed by LF and every LF follows a CR. */
function crlfOnly(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0d && bytes[i + 1] !== 0x0a) return false;
    if (bytes[i] === 0x0a && bytes[i - 1] !== 0x0d) return false;
  }
  return true;
}

/** Check a complete, closed body with both readers; returns the parts. */
function checkClosedBody(body: Buffer, boundary: string): Buffer[] {
  const walk = readMultipart(body, boundary);
  expect(walk.closed).toBe(true);
  const parts = walk.parts.map(({ start, end }) => body.subarray(start, end));
  for (const range of walk.framing) expect(crlfOnly(body.subarray(range.start, range.end))).toBe(true);
  for (const part of parts) {
    expect(part.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(part.includes(boundary, 0, 'latin1')).toBe(false);
    expect(() => decodePng(part)).not.toThrow();
  }
  // The golden shape: dash-boundary, then the parts joined by delimiter and headers, then the close-delimiter.
  const golden = Buffer.concat([
    Buffer.from(`--${boundary}\r\n${PART_HEADERS}`, 'latin1'),
    ...parts.flatMap((part, i) => (i === 0 ? [part] : [Buffer.from(`\r\n--${boundary}\r\n${PART_HEADERS}`, 'latin1'), part])),
    Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'),
  ]);
  expect(body.equals(golden)).toBe(true);

  const remix = partsByRemix(body, boundary);
  expect(remix.length).toBe(parts.length);
  remix.forEach((part, i) => {
    expect(part.headers).toEqual({ 'content-type': 'image/png' });
    expect(part.bytes.equals(parts[i])).toBe(true);
  });
  return parts;
}

describe('response headers', () => {
  test('the stream answers with exactly the multipart, no-cache, no-buffering headers and no length or encoding', async () => {
    const { url } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0 });
    const raw = await RawStream.open(url);
    expect(raw.head.startsWith('HTTP/1.1 200 ')).toBe(true);
    expect(crlfOnly(Buffer.from(raw.head, 'latin1'))).toBe(true);

    const contentType = raw.header('content-type');
    expect(contentType).toHaveLength(1);
    const boundary = /^multipart\/x-mixed-replace; boundary=([^";\s]+)$/.exec(contentType[0])?.[1];
    expect(boundary).toMatch(/^[A-Za-z0-9]{24,70}$/);
    expect(raw.header('cache-control')).toEqual(['no-store, no-cache, must-revalidate, no-transform']);
    expect(raw.header('pragma')).toEqual(['no-cache']);
    expect(raw.header('expires')).toEqual(['0']);
    expect(raw.header('x-accel-buffering')).toEqual(['no']);
    expect(raw.header('x-content-type-options')).toEqual(['nosniff']);
    expect(raw.header('content-length')).toEqual([]);
    expect(raw.header('content-encoding')).toEqual([]);
    raw.close();
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

  test('the headers and the first part headers arrive before any render has finished', async () => {
    // A renderer held back by the test: no frame can exist until it is released.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const rendersStarted: number[] = [];
    const rendersFinished: number[] = [];
    const png = decodeablePng();
    const { url } = await startCounterApp({
      keepAliveMs: 0,
      heartbeatMs: 0,
      render: async (count) => {
        rendersStarted.push(count);
        await gate;
        rendersFinished.push(count);
        return png;
      },
    });
    const raw = await RawStream.open(url);
    const boundary = boundaryOf(raw.header('content-type')[0]);
    await eventually(() => raw.body.length > 0, 'the first body bytes');
    expect(rendersFinished).toEqual([]);
    expect(raw.body.toString('latin1')).toBe(`--${boundary}\r\n${PART_HEADERS}`);

    release();
    await eventually(() => readMultipart(raw.body, boundary).parts.length >= 1, 'a complete part after the renderer is released');
    expect(rendersStarted.length).toBeGreaterThan(0);
    const walk = readMultipart(raw.body, boundary);
    expect(raw.body.subarray(walk.parts[0].start, walk.parts[0].end).equals(png)).toBe(true);
    raw.close();
  });

  test('the first frame follows the headers without waiting for the keep-alive', async () => {
    const { url } = await startCounterApp({ keepAliveMs: 60_000, heartbeatMs: 0 });
    const viewer = await Viewer.open(url);
    expect(viewer.status).toBe(200);
    // Well under the 60 s keep-alive: the first frame is written as the stream opens.
    await viewer.waitForFrames(1, 10_000);
    expect(() => decodePng(viewer.frames[0])).not.toThrow();
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1', 10_000);
    viewer.close();
  });
});

describe('golden framing', () => {
  test('one viewer: dash-boundary, PNG parts each followed at once by the next headers, then the close-delimiter', async () => {
    const { url, counter } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0 });
    const raw = await RawStream.open(url);
    const boundary = boundaryOf(raw.header('content-type')[0]);
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
    await eventually(() => raw.ended || raw.closed, 'the stream to end');
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
    const raw = await RawStream.open(url);
    const boundary = boundaryOf(raw.header('content-type')[0]);
    const lastPart = () => {
      const { parts } = readMultipart(raw.body, boundary);
      return parts.length > 0 ? raw.body.subarray(parts.at(-1)!.start, parts.at(-1)!.end) : undefined;
    };
    await eventually(() => lastPart() !== undefined && showsCount(lastPart()!, 1), 'a part showing 1', 10_000);
    const second = await Viewer.open(url);
    await eventually(() => showsCount(lastPart()!, 2), 'a part showing 2', 10_000);
    second.close();
    await eventually(() => showsCount(lastPart()!, 1), 'a part showing 1 again', 10_000);

    await counter.close();
    await eventually(() => raw.ended || raw.closed, 'the stream to end');
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

describe('heartbeat and keep-alive', () => {
  test('heartbeat bytes are the next PNG’s first bytes, at most 33 ahead, and every part still decodes', async () => {
    const { url, counter } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 20 });
    const raw = await RawStream.open(url, undefined, GECKO_USER_AGENT);
    const boundary = boundaryOf(raw.header('content-type')[0]);
    // At 20 ms a byte, the 33 header bytes run out after about 0.7 s and the frame is completed.
    await eventually(() => readMultipart(raw.body, boundary).parts.length >= 3, '3 complete parts', 20_000);
    await eventually(() => {
      const { openPartStart } = readMultipart(raw.body, boundary);
      return openPartStart !== undefined && raw.body.length - openPartStart >= 5;
    }, 'heartbeat bytes after the advance headers', 10_000);

    // Between frames: the bytes after the advance headers are the start of a PNG (signature first).
    const between = raw.body;
    const openPartStart = readMultipart(between, boundary).openPartStart!;
    const ahead = between.subarray(openPartStart);
    expect(ahead.length).toBeLessThanOrEqual(PNG_HEADER_LENGTH);
    expect(ahead.equals(expectedFrame(1).subarray(0, ahead.length))).toBe(true);

    await counter.close();
    await eventually(() => raw.ended || raw.closed, 'the stream to end');
    const body = raw.body;
    const parts = checkClosedBody(body, boundary);
    for (const part of parts.slice(0, -1)) expect(showsCount(part, 1) || showsCount(part, 0)).toBe(true);
    expect(showsEnded(parts.at(-1)!, 1)).toBe(true);
    // The part those bytes began was completed as a whole PNG: the live frame, or the ended one
    // when the stream ended first (every frame of one size starts with the same bytes).
    const aheadPart = readMultipart(body, boundary).parts.find(({ start }) => start === openPartStart)!;
    expect(aheadPart).toBeDefined();
    expect(body.subarray(openPartStart, openPartStart + ahead.length).equals(ahead)).toBe(true);
    const completed = body.subarray(aheadPart.start, aheadPart.end);
    expect(showsCount(completed, 1) || showsEnded(completed, 1)).toBe(true);

    // Each one-byte write (a heartbeat) lies in the first 33 bytes of a part, and runs of them are at most 33 long.
    const walk = readMultipart(body, boundary);
    let offset = 0;
    let run = 0;
    let heartbeats = 0;
    for (const write of raw.writes) {
      if (write.length === 1) {
        const part = walk.parts.find(({ start, end }) => offset >= start && offset < end);
        expect(part).toBeDefined();
        expect(offset - part!.start).toBeLessThan(PNG_HEADER_LENGTH);
        run += 1;
        heartbeats += 1;
        expect(run).toBeLessThanOrEqual(PNG_HEADER_LENGTH);
      } else {
        run = 0;
      }
      offset += write.length;
    }
    expect(heartbeats).toBeGreaterThanOrEqual(PNG_HEADER_LENGTH);
  });

  test('a frame that arrives while heartbeat bytes are out completes its part as a valid PNG of the new count', async () => {
    const { url, counter } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 20 });
    const raw = await RawStream.open(url, undefined, GECKO_USER_AGENT);
    const boundary = boundaryOf(raw.header('content-type')[0]);
    const lastPart = () => {
      const { parts } = readMultipart(raw.body, boundary);
      return parts.length > 0 ? raw.body.subarray(parts.at(-1)!.start, parts.at(-1)!.end) : undefined;
    };
    await eventually(() => lastPart() !== undefined && showsCount(lastPart()!, 1), 'a part showing 1', 10_000);
    await eventually(() => {
      const { openPartStart } = readMultipart(raw.body, boundary);
      return openPartStart !== undefined && raw.body.length - openPartStart >= 3;
    }, 'heartbeat bytes out', 10_000);
    const second = await Viewer.open(url);
    await eventually(() => showsCount(lastPart()!, 2), 'a part showing 2', 10_000);
    second.close();
    await eventually(() => showsCount(lastPart()!, 1), 'a part showing 1 again', 10_000);
    await counter.close();
    await eventually(() => raw.ended || raw.closed, 'the stream to end');
    const parts = checkClosedBody(raw.body, boundary);
    for (const part of parts.slice(0, -1)) expect([0, 1, 2].some((n) => showsCount(part, n))).toBe(true);
    expect(showsEnded(parts.at(-1)!, 1)).toBe(true);
  });

  test('with a short keep-alive the latest frame is re-sent unchanged while the count stays the same', async () => {
    const { url, counter } = await startCounterApp({ keepAliveMs: 100, heartbeatMs: 0 });
    const changes: number[] = [];
    const viewer = await Viewer.open(url);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1', 10_000);
    counter.events.on('change', ({ count }) => changes.push(count));
    const before = viewer.frames.length;
    await viewer.waitForFrames(before + 4, 15_000);
    expect(changes).toEqual([]);
    expect(counter.count).toBe(1);
    const resent = viewer.frames.slice(before - 1);
    for (const frame of resent) expect(frame.equals(resent[0])).toBe(true);
    viewer.close();
  });

  test('with keep-alive and heartbeat off, nothing is sent while the count stays the same', async () => {
    const { url } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0 });
    const raw = await RawStream.open(url);
    const boundary = boundaryOf(raw.header('content-type')[0]);
    await eventually(() => {
      const { parts } = readMultipart(raw.body, boundary);
      return parts.length > 0 && showsCount(raw.body.subarray(parts.at(-1)!.start, parts.at(-1)!.end), 1);
    }, 'a part showing 1', 10_000);
    await sleep(300);
    const settled = raw.body.length;
    await sleep(1000);
    expect(raw.body.length).toBe(settled);
    raw.close();
  });

  // Was a bug (lib/middleware.ts ticked at `heartbeatMs || 250`, fixed in 0ac4a66): a keep-alive
  // shorter than the heartbeat was sent at the heartbeat's pace.
  test('the keep-alive keeps its own pace when the heartbeat is slower', async () => {
    const { url } = await startCounterApp({ keepAliveMs: 100, heartbeatMs: 2000 });
    const viewer = await Viewer.open(url);
    await viewer.waitForFrames(1, 10_000);
    const before = viewer.frames.length;
    await sleep(1500);
    // At 100 ms, about 15 re-sends; at the heartbeat's 2 s, none or one.
    expect(viewer.frames.length - before).toBeGreaterThanOrEqual(5);
    viewer.close();
  });
});

describe('the first frame of a joining viewer', () => {
  test('a second viewer gets the frame for 2 as its first part, without waiting for any render', async () => {
    // The default drawing, wrapped to see which counts were rendered and to hold renders back.
    const drawing = createCanvasRenderer(DEFAULT_IMAGE);
    const rendered = new Map<number, number>();
    let hold: Promise<void> | undefined;
    const { url } = await startCounterApp({
      keepAliveMs: 0,
      heartbeatMs: 0,
      render: async (count) => {
        if (hold) await hold;
        const png = await drawing.render(count);
        rendered.set(count, (rendered.get(count) ?? 0) + 1);
        return png;
      },
    });
    await eventually(() => rendered.has(1), 'the frame for 1 rendered ahead', 10_000);
    const first = await Viewer.open(url);
    await first.waitForFrames(1, 10_000);
    expect(showsCount(first.frames[0], 1)).toBe(true);
    await eventually(() => rendered.has(2), 'the frame for 2 rendered ahead', 10_000);

    // From now on no render can finish: the joining viewer must be served from what exists.
    let release!: () => void;
    hold = new Promise((resolve) => (release = resolve));
    const second = await Viewer.open(url);
    await second.waitForFrames(1, 10_000);
    expect(showsCount(second.frames[0], 2)).toBe(true);
    await first.waitForLastFrame((png) => showsCount(png, 2), 'the first viewer shown 2', 10_000);
    // The joining viewer cost no render of its own: 2 was drawn once.
    expect(rendered.get(2)).toBe(1);
    release();
    first.close();
    second.close();
  });

  test('a joining viewer is written a frame as its stream opens, before any change is broadcast', async () => {
    // A store that tells the counter about changes only when the test says so: no broadcast
    // can reach a joining viewer, so any frame it gets was written as its stream opened.
    const store = new HeldBackStore();
    const drawing = createCanvasRenderer(DEFAULT_IMAGE);
    const rendered = new Set<number>();
    const { url } = await startCounterApp({
      keepAliveMs: 0,
      heartbeatMs: 0,
      store,
      render: async (count) => {
        const png = await drawing.render(count);
        rendered.add(count);
        return png;
      },
    });
    await eventually(() => rendered.has(1), 'the frame for 1 rendered ahead', 10_000);
    await sleep(50);
    // The frame of its own count, cached.
    const first = await Viewer.open(url);
    await first.waitForFrames(1, 10_000);
    expect(showsCount(first.frames[0], 1)).toBe(true);

    store.announce();
    await eventually(() => rendered.has(2), 'the frame for 2 rendered ahead', 10_000);
    await sleep(50);
    const second = await Viewer.open(url);
    await second.waitForFrames(1, 10_000);
    expect(showsCount(second.frames[0], 2)).toBe(true);
    // 3 is not cached: the latest shared frame (1, as nothing announced 2), corrected once announced.
    expect(rendered.has(3)).toBe(false);
    const third = await Viewer.open(url);
    await third.waitForFrames(1, 10_000);
    expect(showsCount(third.frames[0], 1)).toBe(true);
    await sleep(200);
    expect(third.frames.length).toBe(1);
    store.announce();
    for (const viewer of [first, second, third]) {
      await viewer.waitForLastFrame((png) => showsCount(png, 3), 'a frame showing 3', 10_000);
    }
    for (const viewer of [first, second, third]) viewer.close();
  });

  test('with the default renderer a second viewer gets a frame at once, and the frame for 2 once settled', async () => {
    const { url } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0 });
    const first = await Viewer.open(url);
    await first.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1', 10_000);
    await sleep(300);
    const second = await Viewer.open(url);
    await second.waitForFrames(1, 10_000);
    expect(showsCount(second.frames[0], 1) || showsCount(second.frames[0], 2)).toBe(true);
    await second.waitForLastFrame((png) => showsCount(png, 2), 'the second viewer shown 2', 10_000);
    await first.waitForLastFrame((png) => showsCount(png, 2), 'the first viewer shown 2', 10_000);
    first.close();
    second.close();
  });
});

/** A count store that emits `change` only when `announce()` is called. */
class HeldBackStore implements CountStore {
  readonly events = createIsolatedEmitter<CountStoreEvents>(() => undefined);
  private total = 0;
  increment(): void {
    this.total += 1;
  }
  decrement(): void {
    this.total = Math.max(0, this.total - 1);
  }
  count(): number {
    return this.total;
  }
  announce(): void {
    this.events.emit('change', { room: '' });
  }
}

/** A small valid PNG made with pngjs: 4x4, opaque blue. */
function decodeablePng(): Buffer {
  const png = new PNG({ width: 4, height: 4 });
  for (let i = 0; i < png.data.length; i += 4) png.data.set([0, 0, 255, 255], i);
  return PNG.sync.write(png);
}
