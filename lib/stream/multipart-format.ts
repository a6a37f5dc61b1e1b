import { randomBytes } from 'node:crypto';

/**
 * The bytes of a `multipart/x-mixed-replace` stream of PNG frames (RFC 2046 §5.1.1),
 * built once per boundary and per frame, and shared by every stream.
 *
 * On the wire: `--B CRLF headers CRLF CRLF png` for the first part, then after each
 * frame the delimiter and the next part's headers at once (`CRLF --B CRLF headers
 * CRLF CRLF`): Chromium shows a part only when the next part has begun. The stream
 * ends with the close-delimiter `CRLF --B-- CRLF`.
 */

const PART_HEADERS = 'Content-Type: image/png\r\n\r\n';
const CRLF = Buffer.from('\r\n', 'latin1');

/** The 8-byte signature every PNG starts with. */
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * The signature and the whole IHDR chunk (size, colour type, CRC): 33 bytes that all
 * frames of one size and colour type share, so they can be sent ahead of a frame.
 */
export const PNG_HEADER_LENGTH = 33;

/** A boundary of 32 characters from [A-Za-z0-9]: no leading `--`, never quoted. */
export function createBoundary(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(32);
  let boundary = '';
  for (const byte of bytes) boundary += alphabet[byte % alphabet.length];
  return boundary;
}

/** One encoded frame, ready to be written to any number of streams. */
export interface Frame {
  /** The count this frame shows. */
  readonly count: number;
  /** The PNG: a view of the start of `wire` (one buffer per frame). */
  readonly png: Buffer;
  /** The PNG followed by the delimiter and the next part's headers: what a stream writes. */
  readonly wire: Buffer;
  /** `wire` as one chunk of the chunked transfer coding, for a stream whose response has it (lib/stream/response-body.ts). */
  readonly chunk: Buffer;
}

/** The wire format for one boundary. */
export class MultipartFormat {
  readonly boundary: string;
  readonly contentType: string;
  /** The first bytes of a stream: the first delimiter and the first part's headers. */
  readonly preamble: Buffer;
  /** The close-delimiter: ends the current part and the stream. */
  readonly closeDelimiter: Buffer;
  private readonly boundaryBytes: Buffer;
  private readonly delimiterAndHeaders: Buffer;

  constructor(boundary: string = createBoundary()) {
    this.boundary = boundary;
    this.boundaryBytes = Buffer.from(`--${boundary}`, 'latin1');
    this.contentType = `multipart/x-mixed-replace; boundary=${boundary}`;
    this.preamble = Buffer.from(`--${boundary}\r\n${PART_HEADERS}`, 'latin1');
    this.delimiterAndHeaders = Buffer.from(`\r\n--${boundary}\r\n${PART_HEADERS}`, 'latin1');
    this.closeDelimiter = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  }

  /**
   * The shared frame for a PNG. Throws when the bytes are not a PNG, or when they
   * contain the boundary (the part would end early; with 32 random characters this
   * does not happen by chance).
   */
  frame(count: number, png: Buffer): Frame {
    const isPng =
      png.length > PNG_HEADER_LENGTH &&
      png.subarray(0, 8).equals(PNG_SIGNATURE) &&
      png.toString('latin1', 12, 16) === 'IHDR';
    if (!isPng) {
      throw new Error(`The frame for ${count} is not a PNG (it must start with the PNG signature).`);
    }
    if (png.includes(this.boundaryBytes)) {
      throw new Error(`The frame for ${count} contains the multipart boundary; it was not sent.`);
    }
    // One buffer per frame: the chunk, with the wire bytes and the PNG inside it.
    const wireLength = png.length + this.delimiterAndHeaders.length;
    const sizeLine = Buffer.from(`${wireLength.toString(16)}\r\n`, 'latin1');
    const chunk = Buffer.concat([sizeLine, png, this.delimiterAndHeaders, CRLF]);
    const wire = chunk.subarray(sizeLine.length, sizeLine.length + wireLength);
    return { count, png: wire.subarray(0, png.length), wire, chunk };
  }
}
