import type { Emitter } from 'mitt';
import { createIsolatedEmitter, emitInSlices, toError } from '../util/events.js';
import type { Frame, MultipartFormat } from '../stream/multipart-format.js';
import type { FrameRenderer } from './frame-renderer.js';
import { EndedFrames } from './ended-frames.js';
import type { StreamTicker, TickedStream } from '../stream/stream-ticker.js';
import { monotonicNow } from '../util/clock.js';
import type { FrameShelf } from './frame-cache.js';
import { nextBroadcastAt } from './broadcast-pacing.js';

/** What travels on the bus to every stream. */
type BusEvents = {
  /** A new frame for every stream. */
  frame: Frame;
};

/** A stream as the broadcaster sees it: frames from the bus, periodic duties from the ticker. */
export interface BusSubscriber extends TickedStream {
  send(frame: Frame): void;
}

interface BroadcasterSettings {
  /** The count to show, read whenever it may have changed. */
  readonly readCount: () => number;
  readonly renderer: FrameRenderer;
  readonly format: MultipartFormat;
  /** The periodic duties of the streams: one ticker shared by every broadcaster of a counter. */
  readonly ticker: StreamTicker;
  /** Where render failures go. */
  readonly report: (error: Error) => void;
  /** Where its frames are kept: its part of the counter's cache (lib/frames/frame-cache.ts). */
  readonly frames: FrameShelf;
}

/**
 * A broadcast writes to this many streams, then lets the event loop accept connections and
 * read sockets before the next slice: ten thousand writes in one go hold the loop for a few
 * hundred milliseconds, long enough for the listen queue to overflow during a join storm.
 */
export const STREAMS_PER_SLICE = 500;

/**
 * From count changes to frames on the bus. Renders are coalesced and rate-limited:
 * one render at a time, always of the newest count. A change is shown once it has held a
 * moment and a window since the last broadcast has passed; during a join storm, at a steady
 * slower pace (lib/frames/broadcast-pacing.ts). Each count is rendered once while cached; one
 * Buffer per frame is shared by every stream.
 */
export class FrameBroadcaster {
  /** Every open stream listens here. */
  readonly bus: Emitter<BusEvents>;
  private readonly cache: FrameShelf;
  private readonly ended: EndedFrames;
  private current: Frame | undefined;
  private lastBroadcastAt = -Infinity;
  /** Some viewer was given a first frame other than `current`. */
  private divergent = false;
  /** When the count first differed from the frame shown, if it does now. */
  private changedAt: number | undefined;
  private running = false;
  private closed = false;
  private failedCount: number | undefined;
  private readonly failedNeighbours = new Set<number>();
  private lastChangeAt = -Infinity;
  private readonly departed = new Set<BusSubscriber['send']>();
  private compaction: NodeJS.Immediate | undefined;
  private readonly ticker: StreamTicker;
  private subscribers = 0;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly settings: BroadcasterSettings) {
    this.bus = createIsolatedEmitter<BusEvents>((error) => settings.report(toError(error)));
    this.ticker = settings.ticker;
    this.cache = settings.frames;
    this.ended = new EndedFrames(settings);
    const { renderSync } = settings.renderer;
    if (renderSync) {
      // At once, so that the first viewer gets its exact frame (and a broken drawing throws here).
      this.current = this.cache.get(0) ?? this.remember(0, renderSync(0));
      if (!this.cache.has(1)) this.remember(1, renderSync(1));
    }
    this.countChanged();
  }

  /** The frame a joining viewer gets at once: of `count` when cached, else the latest. */
  firstFrame(count: number): Frame | undefined {
    const frame = this.cache.get(count) ?? this.current;
    // This viewer now shows another count than the rest: should the count go back to the
    // one the rest show (a join, then a leave), the next broadcast must still reach it.
    if (frame !== this.current) this.divergent = true;
    return frame;
  }

  /** The frame of `count` when one is ready, for a reader that is not a stream (the static image); changes nothing. */
  readyFrame(count: number): Frame | undefined {
    return this.cache.get(count) ?? (this.current?.count === count ? this.current : undefined);
  }

  /**
   * The last frame for a stream the server ends while it shows `shown` (the room's count now
   * when it was sent none): drawn as ended (`RenderContext.ended`); undefined when that failed
   * or took too long (reported). One function for every stream of the broadcaster, given to
   * each writer's `start`.
   */
  readonly endedFrame = (shown: number | undefined): Promise<Frame | undefined> =>
    this.ended.frameFor(shown ?? this.settings.readCount());

  /** Call whenever the count may have changed. */
  countChanged(): void {
    this.lastChangeAt = monotonicNow();
    this.failedCount = undefined;
    this.failedNeighbours.clear();
    if (!this.running && !this.closed) void this.run();
  }

  subscribe(subscriber: BusSubscriber): void {
    if (this.closed) return;
    this.bus.on('frame', subscriber.send);
    this.ticker.add(subscriber);
    this.subscribers += 1;
  }

  /**
   * mitt's `off` searches the handler list, so ten thousand viewers leaving at once would
   * cost O(n²): departed handlers are dropped in one pass once the current burst of
   * leaves is over (a departed writer ignores frames meanwhile).
   */
  unsubscribe(subscriber: BusSubscriber): void {
    this.departed.add(subscriber.send);
    this.ticker.remove(subscriber);
    this.subscribers -= 1;
    this.compaction ??= setImmediate(() => this.dropDeparted());
  }

  private dropDeparted(): void {
    this.compaction = undefined;
    const handlers = this.bus.all.get('frame') as BusSubscriber['send'][] | undefined;
    if (handlers) this.bus.all.set('frame', handlers.filter((handler) => !this.departed.has(handler)));
    this.departed.clear();
  }

  /** Stop rendering and ticking. */
  close(): void {
    this.closed = true;
    if (this.compaction) clearImmediate(this.compaction);
    this.dropDeparted();
    clearTimeout(this.sleepTimer);
    this.wake?.();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed) {
        const count = this.settings.readCount();
        if ((count !== this.current?.count || this.divergent) && count !== this.failedCount) {
          const now = monotonicNow();
          this.changedAt ??= now;
          const { changedAt, lastChangeAt, lastBroadcastAt } = this;
          const wait = nextBroadcastAt({ changedAt, lastChangeAt, lastBroadcastAt }, this.subscribers) - now;
          if (wait > 0) {
            await this.sleep(wait);
          } else {
            this.changedAt = undefined;
            await this.broadcast(count);
          }
          continue;
        }
        this.changedAt = undefined;
        // Settled: render the neighbours, so that the next viewer to join or leave
        // gets the exact frame at once.
        const neighbour = [count + 1, count - 1].find(
          (n) => n >= 0 && n !== this.failedCount && !this.failedNeighbours.has(n) && !this.cache.has(n),
        );
        if (neighbour === undefined) break;
        // A neighbour that fails is not tried again before the next change (no render loop);
        // its error shows if the count gets there.
        await this.frameFor(neighbour).catch(() => this.failedNeighbours.add(neighbour));
      }
    } finally {
      this.running = false;
    }
  }

  private async broadcast(count: number): Promise<void> {
    let frame: Frame;
    try {
      frame = await this.frameFor(count);
    } catch (error) {
      // Shown again only after the next change, so a broken renderer is not retried in a loop.
      this.failedCount = count;
      this.settings.report(toError(error));
      return;
    }
    if (this.closed) return;
    this.current = frame;
    this.divergent = false;
    this.lastBroadcastAt = monotonicNow();
    // The list is taken first: a viewer joining meanwhile already got `frame` as its first
    // frame, and one leaving ignores it.
    await emitInSlices(this.bus, 'frame', frame, STREAMS_PER_SLICE);
  }

  private async frameFor(count: number): Promise<Frame> {
    const cached = this.cache.get(count);
    if (cached) return cached;
    const png = await this.settings.renderer.render(count);
    return this.remember(count, png);
  }

  private remember(count: number, png: Buffer): Frame {
    const frame = this.settings.format.frame(count, png);
    this.cache.keep(count, frame);
    return frame;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
      this.sleepTimer.unref();
    });
  }
}
