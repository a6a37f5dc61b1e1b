/*
 * Reading an HTTP/1.1 response off the wire, byte for byte: its head as sent, and a chunked
 * body one whole chunk at a time. Used by RawConnection.
 */

/** A response head as it came over the wire. */
export interface RawHead {
  /** `HTTP/1.1` or `HTTP/1.0` */
  readonly version: string;
  readonly status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  readonly headers: Record<string, string>;
  /** Every header line as [name, value], in order, names as sent. */
  readonly fields: [string, string][];
  /** The head exactly as sent: status line and header lines, with the empty line that ends them. */
  readonly text: string;
  /** Where the body starts in the received bytes. */
  readonly bodyOffset: number;
}

/** Parse a response head at the start of `data`; undefined while incomplete. */
export function parseHead(data: Buffer): RawHead | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const text = data.toString('latin1', 0, end + 4);
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const match = /^(HTTP\/\d\.\d) (\d{3})/.exec(statusLine);
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  const fields: [string, string][] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const [name, value] = [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
    fields.push([name, value]);
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  return { version: match[1], status: Number(match[2]), headers, fields, text, bodyOffset: end + 4 };
}

/**
 * Removes the chunked transfer coding (RFC 9112 §7.1), one whole chunk at a time, so each
 * server write is seen whole whatever TCP did with it. Stops at the last chunk, or at the
 * first byte that does not fit (`error`).
 */
export class Dechunker {
  /** The last chunk arrived. */
  done = false;
  error: Error | undefined;
  private pending = Buffer.alloc(0);

  write(input: Buffer): Buffer[] {
    const out: Buffer[] = [];
    this.pending = Buffer.concat([this.pending, input]);
    while (!this.done && !this.error) {
      const lineEnd = this.pending.indexOf('\r\n');
      if (lineEnd < 0) break;
      const sizeText = this.pending.toString('latin1', 0, lineEnd).split(';')[0].trim();
      if (!/^[0-9a-fA-F]+$/.test(sizeText)) this.error = new Error(`Chunked coding: bad chunk size line ${JSON.stringify(sizeText)}.`);
      const size = parseInt(sizeText, 16);
      if (size === 0) this.done = true;
      if (this.error || this.done) break;
      const start = lineEnd + 2;
      if (this.pending.length < start + size + 2) break;
      if (this.pending.toString('latin1', start + size, start + size + 2) !== '\r\n') {
        this.error = new Error('Chunked coding: a chunk is not followed by CRLF.');
        break;
      }
      out.push(Buffer.from(this.pending.subarray(start, start + size)));
      this.pending = this.pending.subarray(start + size + 2);
    }
    return out;
  }
}
