import { MultipartParser } from '@remix-run/multipart-parser';

/**
 * The parts of a multipart response body, read as its bytes arrive by an independent parser
 * (@remix-run/multipart-parser), so the tests never check the stream with the code that wrote it.
 */
export class PartReader {
  /** Every complete part's body (a PNG each), in order. */
  readonly parts: Buffer[] = [];
  /** Set when the parser rejected the body; nothing more is read after it. */
  error: Error | undefined;
  private readonly parser: MultipartParser | undefined;

  /** A reader for a response with this Content-Type; one without a boundary yields no parts. */
  constructor(contentType: string | undefined) {
    const match = /boundary=(?:"([^"]+)"|([^;\s]+))/.exec(String(contentType));
    const boundary = match?.[1] ?? match?.[2];
    if (boundary) this.parser = new MultipartParser(boundary, { maxParts: Infinity, maxTotalSize: Infinity, maxFileSize: Infinity });
  }

  /** Read the next body bytes. */
  write(bytes: Buffer): void {
    if (!this.parser || this.error) return;
    try {
      for (const part of this.parser.write(bytes)) this.parts.push(Buffer.from(part.bytes));
    } catch (error) {
      // A malformed stream fails the test waiting on it, not the whole test file.
      this.error = error as Error;
    }
  }
}
