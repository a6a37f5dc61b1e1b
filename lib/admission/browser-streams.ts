/** A stream as the per-browser cap sees it (a `MultipartWriter`). */
interface BrowserStream {
  /** End the stream from the server, with a frame that says it has ended. */
  endFromServer(): unknown;
}

/**
 * Over HTTP/1.1 a browser keeps at most six connections to one host (Chromium, Firefox and
 * Safari alike), and each tab showing the counter holds one for as long as it is open: a
 * reader with a seventh tab of the site could load nothing more from it, not even pages.
 * So one browser (as lib/admission/browser-tags.ts tells them apart) keeps at most `max` streams; a
 * newer one ends the oldest, which keeps its last frame drawn as ended. Over HTTP/2 every
 * tab shares one connection: such streams are not tagged, and none is ended.
 *
 * Memory: one entry per browser with an open stream, holding its streams (at most `max`).
 */
export class BrowserStreams {
  private readonly open = new Map<string, BrowserStream[]>();

  constructor(private readonly max: number) {}

  /** `stream` opened for the browser `id`: end its oldest streams beyond the cap. */
  add(id: string, stream: BrowserStream): void {
    let streams = this.open.get(id);
    if (!streams) this.open.set(id, (streams = []));
    streams.push(stream);
    // Taken out first: ending one calls `remove` for it.
    const replaced = streams.length > this.max ? streams.splice(0, streams.length - this.max) : [];
    for (const old of replaced) void old.endFromServer();
  }

  /** `stream` of the browser `id` ended (for any reason). */
  remove(id: string, stream: BrowserStream): void {
    const streams = this.open.get(id);
    if (!streams) return;
    const at = streams.indexOf(stream);
    if (at >= 0) streams.splice(at, 1);
    if (streams.length === 0) this.open.delete(id);
  }

  /** Browsers with an open stream (for stats). */
  get browsers(): number {
    return this.open.size;
  }
}
