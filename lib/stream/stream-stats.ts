import type { MultipartWriter, WriterStats } from './multipart-writer.js';
import type { CounterStats } from '../types/index.js';

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
