import { performance } from 'node:perf_hooks';
import { monotonicNow } from './clock.js';

/** A stream as the ticker sees it: see `MultipartWriter.tick`. */
export interface TickedStream {
  /**
   * Do what is due; write only when `mayWrite`, and heartbeat bytes only when `heartbeats`.
   * Returns whether it wrote.
   */
  tick(now: number, mayWrite: boolean, heartbeats: boolean): boolean;
}

/**
 * Periodic writes (heartbeat bytes, keep-alive re-sends) across every stream, at most
 * this many a second in all: each write costs a system call, and a 1-byte heartbeat to
 * ten thousand streams three times a second would take a core by itself. Past the
 * budget the period per stream grows with the audience (2000 streams: the configured
 * pace; 10 000: every 5 s).
 */
export const PERIODIC_WRITES_PER_SECOND = 2000;

/**
 * When the event loop was busier than this over the last tick (a join storm: accepting and
 * answering thousands of requests), heartbeat bytes wait: they only make a closed page
 * noticed sooner, and would compete with accepting connections. Keep-alive re-sends go on
 * (a proxy cuts a silent stream), and so do stall checks and `maxStreamMs`.
 */
export const BUSY_LOOP = 0.8;

/**
 * The one timer behind every stream's periodic duties. Each tick visits every stream
 * (stall checks and `maxStreamMs` cost no write), starting where the last tick's write
 * budget ran out, so that no stream is starved.
 */
export class StreamTicker {
  private readonly streams: TickedStream[] = [];
  private readonly slots = new Map<TickedStream, number>();
  private cursor = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly writesPerTick: number;
  private loopBefore = performance.eventLoopUtilization();

  constructor(private readonly tickMs: number) {
    this.writesPerTick = Math.max(1, Math.floor((PERIODIC_WRITES_PER_SECOND * tickMs) / 1000));
  }

  get size(): number {
    return this.streams.length;
  }

  add(stream: TickedStream): void {
    if (this.slots.has(stream)) return;
    this.slots.set(stream, this.streams.length);
    this.streams.push(stream);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(monotonicNow(), this.loopBusy()), this.tickMs);
      this.timer.unref();
    }
  }

  /** O(1): the last stream takes the leaving one's slot. */
  remove(stream: TickedStream): void {
    const slot = this.slots.get(stream);
    if (slot === undefined) return;
    this.slots.delete(stream);
    const last = this.streams.pop()!;
    if (last !== stream) {
      this.streams[slot] = last;
      this.slots.set(last, slot);
    }
    if (this.streams.length === 0) this.stop();
  }

  /** The event loop's utilisation since the last call. */
  private loopBusy(): number {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, this.loopBefore).utilization;
    this.loopBefore = now;
    return busy;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One round; public for tests with fake clocks. `loopBusy`: the share of the last period
   * the event loop spent working (0–1).
   */
  tick(now: number, loopBusy = 0): void {
    // A copy: a stream may end (and leave) while it is visited.
    const streams = this.streams.slice();
    const count = streams.length;
    const heartbeats = loopBusy <= BUSY_LOOP;
    let budget = this.writesPerTick;
    let next = this.cursor;
    for (let i = 0; i < count; i++) {
      const index = (this.cursor + i) % count;
      if (streams[index].tick(now, budget > 0, heartbeats) && budget > 0) {
        budget -= 1;
        next = index + 1;
      }
    }
    this.cursor = count === 0 ? 0 : next % Math.max(1, this.streams.length);
  }
}
