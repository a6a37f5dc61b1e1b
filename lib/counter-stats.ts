import type { Socket } from 'node:net';
import type { Frame } from './multipart-format.js';
import type { MultipartWriter } from './multipart-writer.js';

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

/** Per stream: the frame it shows or will show, and whether one waits for `drain`. */
interface StreamState {
  readonly socket: Socket | null;
  /** socket.bytesWritten when the stream opened (a kept-alive connection has sent earlier responses). */
  readonly bytesBefore: number;
  latest: Frame | undefined;
  waiting: boolean;
  readonly onDrain: () => void;
}

/**
 * Counts what the streams cost. Frames are counted from the outside of each writer, as
 * it behaves (lib/multipart-writer.ts): a frame reaching a stream whose response waits
 * for `drain` replaces the one waiting, and only the newest is written on `drain`.
 */
export class StatsRecorder {
  renders = 0;
  private framesSent = 0;
  private framesDropped = 0;
  private closedBytes = 0;
  private readonly streams = new Map<MultipartWriter, StreamState>();

  /** Call before the stream's first byte (before `writeHead`). */
  opened(writer: MultipartWriter): void {
    const socket = writer.response.socket;
    const state: StreamState = {
      socket,
      bytesBefore: socket?.bytesWritten ?? 0,
      latest: undefined,
      waiting: false,
      onDrain: () => {
        if (!state.waiting) return;
        state.waiting = false;
        this.framesSent += 1;
      },
    };
    this.streams.set(writer, state);
    writer.response.on('drain', state.onDrain);
  }

  /** The stream's first frame, written with the stream's first bytes. */
  started(writer: MultipartWriter, first: Frame | undefined): void {
    const state = this.streams.get(writer);
    if (!state || !first) return;
    state.latest = first;
    this.framesSent += 1;
  }

  /** A frame broadcast to `writers`; call before the writers get it. */
  broadcast(writers: Iterable<MultipartWriter>, frame: Frame): void {
    for (const writer of writers) {
      const state = this.streams.get(writer);
      // A writer skips the frame it already shows.
      if (!state || state.latest === frame || writer.ended) continue;
      state.latest = frame;
      if (writer.response.writableNeedDrain) {
        if (state.waiting) this.framesDropped += 1;
        state.waiting = true;
      } else {
        this.framesSent += 1;
      }
    }
  }

  closed(writer: MultipartWriter): void {
    const state = this.streams.get(writer);
    if (!state) return;
    this.streams.delete(writer);
    writer.response.off('drain', state.onDrain);
    // A frame still waiting for a drain that will not come was never seen.
    if (state.waiting) this.framesDropped += 1;
    this.closedBytes += sentBytes(state);
  }

  snapshot(): Pick<CounterStats, 'framesSent' | 'framesDropped' | 'bytesSent' | 'renders'> {
    let bytesSent = this.closedBytes;
    for (const state of this.streams.values()) bytesSent += sentBytes(state);
    return { framesSent: this.framesSent, framesDropped: this.framesDropped, bytesSent, renders: this.renders };
  }
}

function sentBytes({ socket, bytesBefore }: StreamState): number {
  if (!socket) return 0;
  // bytesWritten includes what still waits in the socket's buffer.
  return Math.max(0, socket.bytesWritten - socket.writableLength - bytesBefore);
}
