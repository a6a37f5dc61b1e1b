import { parseMultipart } from '@remix-run/multipart-parser';
import { decodePng, showsCount } from '../../support/png.js';
import type { RawConnection } from './raw-connection.js';
import { eventually } from './time.js';
import { Viewer } from './viewer.js';

/*
 * A strict reader of the stream's multipart body (RFC 2046 §5.1.1), written here for the tests
 * of the wire format: it checks every byte of framing, where the streaming parser of
 * multipart-reader.ts only finds the parts.
 */

/** The headers of every part, exactly. */
export const PART_HEADERS = 'Content-Type: image/png\r\n\r\n';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

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
export function readMultipart(body: Buffer, boundary: string): MultipartWalk {
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
export function boundaryOf(contentType: string | undefined): string {
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
export function crlfOnly(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0d && bytes[i + 1] !== 0x0a) return false;
    if (bytes[i] === 0x0a && bytes[i - 1] !== 0x0d) return false;
  }
  return true;
}

/** Check a complete, closed body with both readers; returns the parts. */
export function checkClosedBody(body: Buffer, boundary: string): Buffer[] {
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

/** The latest complete part of `body`, by the strict reader. */
export function lastStrictPart(body: Buffer, boundary: string): Buffer | undefined {
  const last = readMultipart(body, boundary).parts.at(-1);
  return last && body.subarray(last.start, last.end);
}

/**
 * While `raw` shows 1, a second viewer joins and leaves: resolves once `raw`'s latest complete
 * part (by the strict reader) has shown 2, then 1 again.
 */
export async function joinAndLeaveSeenBy(raw: RawConnection, url: string, boundary: string): Promise<void> {
  const lastPart = () => lastStrictPart(raw.body, boundary);
  const second = await Viewer.open(url);
  await eventually(() => showsCount(lastPart()!, 2), 'a part showing 2', 10_000);
  second.close();
  await eventually(() => showsCount(lastPart()!, 1), 'a part showing 1 again', 10_000);
}
