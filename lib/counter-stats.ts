import type { MultipartWriter, WriterStats } from './multipart-writer.js';

/** What `counter.stats()` reports: this instance's streams and the work they cost, since start. */
export interface CounterStats {
  /** The total count, as the store knows it (every instance's, with a shared store). */
  readonly count: number;
  /** Open streams on this instance. */
  readonly connections: number;
  /** Distinct viewers on this instance, summed over rooms: each stream without a viewer, and each viewer (`identify`) once per room. */
  readonly viewers: number;
  /** Rooms with at least one open stream on this instance. */
  readonly rooms: number;
  /** Frame broadcasters alive (one per room and pixel ratio in use, plus the default room's). */
  readonly broadcasters: number;
  /** Static images served (the fallback for clients that cannot stream). */
  readonly staticImages: number;
  /** Bytes of the frames the counter keeps ready, over every room and pixel ratio (bounded). */
  readonly frameBytes: number;
  /**
   * Frames handed to sockets: each stream's first frame and every broadcast frame it was
   * written (at once, or on `drain` as the newest). Keep-alive re-sends are not included.
   */
  readonly framesSent: number;
  /** Broadcast frames a slow viewer never got: replaced by a newer one while its socket was full. */
  readonly framesDropped: number;
  /** Bytes handed to the kernel on stream sockets (headers, frames, heartbeats), not counting what waits in Node's buffers. */
  readonly bytesSent: number;
  /** Frames drawn (each count once per room and pixel ratio while cached). */
  readonly renders: number;
}

/**
 * Adds up what the streams cost: the writers count frames sent and dropped as they go
 * (`WriterStats`); bytes are read from each stream's socket.
 */
export class StatsRecorder {
  renders = 0;
  /** Shared by every writer of the counter (their `settings.stats`). */
  readonly frames: WriterStats = { framesSent: 0, framesDropped: 0 };
  private closedBytes = 0;

  /** A stream ended: keep what it sent. */
  closed(writer: MultipartWriter): void {
    this.closedBytes += writer.bytesSent;
  }

  /** The figures now, with the streams still open. */
  snapshot(open: Iterable<MultipartWriter>): Pick<CounterStats, 'framesSent' | 'framesDropped' | 'bytesSent' | 'renders'> {
    let bytesSent = this.closedBytes;
    for (const writer of open) bytesSent += writer.bytesSent;
    return { ...this.frames, bytesSent, renders: this.renders };
  }
}
