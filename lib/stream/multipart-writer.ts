import type { ServerResponse } from 'node:http';
import type { Frame, MultipartFormat } from './multipart-format.js';
import type { StreamFraming } from './stream-framing.js';
import { closeConnectionWhenSent } from './connection-closing.js';
import { WITHOUT_HEARTBEATS } from './stream-framing.js';
import { monotonicNow } from '../util/clock.js';
import { PeriodicWrites } from './periodic-writes.js';
import type { PeriodicWriteSettings } from './periodic-writes.js';
import { ResponseBody } from './response-body.js';
import type { TickAllowance, TickedStream } from './stream-ticker.js';

/** How a writer paces itself; the same for every stream of a counter. */
export interface WriterSettings extends PeriodicWriteSettings {
  readonly format: MultipartFormat;
  /** Destroy the stream after this long with data waiting and no byte accepted. */
  readonly stallTimeoutMs: number;
  /** End the stream cleanly after this long; 0: never. */
  readonly maxStreamMs: number;
  /** Where every writer of a counter adds up what it sent and dropped. */
  readonly stats: WriterStats;
  /** The counter's shared tick (lib/stream/stream-ticker.ts), told when a writer's socket fills up. */
  readonly ticker?: { soon(stream: TickedStream): void };
}

/**
 * Draws the last frame of a stream the server ends, for the count it shows (none yet: undefined);
 * resolves undefined to end with the latest frame instead. Never rejects.
 */
type LastFrame = (shownCount: number | undefined) => Promise<Frame | undefined>;

/** What the writers of one counter sent, added up as they go. */
export interface WriterStats {
  /** Frames handed to sockets: first frames, new frames and the newest after a `drain` (not keep-alive re-sends). */
  framesSent: number;
  /** Frames a slow viewer never got: replaced by a newer one while its socket was full, or still waiting when it left. */
  framesDropped: number;
}

const WRITER = Symbol('MultipartWriter');
type WithWriter = { [WRITER]?: MultipartWriter };

// One listener function for every stream (the writer hangs on the response, and on the socket
// it writes to), so that ten thousand streams do not cost ten thousand closures each.
function onDrain(this: WithWriter): void {
  this[WRITER]?.drained();
}
function onResponseClose(this: WithWriter): void {
  this[WRITER]?.closed();
}

/**
 * Writes one viewer's `multipart/x-mixed-replace` stream: the first frame, every
 * newer frame, keep-alive re-sends, heartbeat bytes, and the close-delimiter.
 *
 * Backpressure: while the socket is full, a newer frame replaces the one waiting,
 * and on `drain` only the newest is written, so a slow viewer costs about one frame.
 */
export class MultipartWriter {
  private latest: Frame | undefined;
  private readonly periodic: PeriodicWrites;
  private readonly body: ResponseBody;
  private blocked = false;
  private frameWaiting = false;
  private lastProgressAt = 0;
  private lastWritableLength = 0;
  private finished = false;
  /** Set while the last frame of a stream the server ends is being drawn (`endFromServer`). */
  private ending: Promise<void> | undefined;
  private lastFrame: LastFrame | undefined;
  private readonly openedAt = monotonicNow();

  /**
   * `onEnd` runs exactly once, when the stream ends for any reason. `framing` says whether this
   * viewer's browser gets heartbeat bytes (`lib/stream/stream-framing.ts`).
   */
  constructor(
    readonly response: ServerResponse,
    private readonly settings: WriterSettings,
    private readonly onEnd: () => void,
    framing: StreamFraming = WITHOUT_HEARTBEATS,
  ) {
    this.periodic = new PeriodicWrites(settings, framing.heartbeats);
    this.body = new ResponseBody(response);
    (response as WithWriter)[WRITER] = this;
    response.on('close', onResponseClose);
  }

  /** Bytes of this stream the kernel has taken (not what still waits in Node's buffers). */
  get bytesSent(): number {
    return this.body.bytesSent;
  }

  /** Whether the stream has ended. */
  get ended(): boolean {
    return this.finished;
  }

  /**
   * Write the stream's first bytes and, when there is one, its first frame. `lastFrame`: how
   * `endFromServer` draws the stream's last frame (none: it keeps the latest).
   */
  start(first: Frame | undefined, lastFrame?: LastFrame): void {
    this.lastFrame = lastFrame;
    if (first) {
      // One write (one system call) for the head, the preamble and the first frame; a copy made
      // per stream and let go at once, not kept with every frame.
      this.latest = first;
      this.write(Buffer.concat([this.settings.format.preamble, first.wire]));
      this.periodic.wroteFrame();
      this.settings.stats.framesSent += 1;
    } else {
      this.write(this.settings.format.preamble);
    }
    const drains = this.body.headSent() as NodeJS.EventEmitter & WithWriter;
    drains[WRITER] = this;
    drains.on('drain', onDrain);
  }

  /** Show `frame` now, or as soon as the viewer has taken what is waiting. */
  send = (frame: Frame): void => {
    // A joining viewer already shows the frame that the next broadcast may bring.
    // An ending stream shows no newer count: its last frame is the one it ends with.
    if (this.finished || this.ending || frame === this.latest) return;
    this.latest = frame;
    if (this.blocked) {
      if (this.frameWaiting) this.settings.stats.framesDropped += 1;
      this.frameWaiting = true;
      return;
    }
    this.writeFrame(frame);
    this.settings.stats.framesSent += 1;
  };

  /**
   * Called on the counter's shared tick when this stream has something due: reap a stalled
   * viewer, end the stream after `maxStreamMs`, and make the periodic write that is due (a
   * keep-alive re-send, else for a browser that gets them a heartbeat byte: lib/stream/periodic-writes.ts)
   * within `allowance`, the ticker's budget of writes, which also holds them back while the event
   * loop is busy. Returns when to be called again (see `TickedStream`); undefined once ended.
   */
  tick(now: number, allowance: TickAllowance): number | undefined {
    if (this.finished) return undefined;
    const { maxStreamMs, tickMs } = this.settings;
    const endAt = maxStreamMs > 0 ? this.openedAt + maxStreamMs : Infinity;
    // Also for a viewer that is behind: the end is queued after what it has not read yet.
    if (!this.ending && now >= endAt) void this.endFromServer();
    if (this.finished) return undefined;
    if (this.blocked) {
      this.checkStall(now);
      return this.finished ? undefined : now + tickMs;
    }
    // An ending stream writes only its end; until it is written, its stall is watched.
    const frame = this.latest;
    if (this.ending || !frame) return now + tickMs;
    const due = this.periodic.due(now, allowance);
    if (due === 'frame') this.writeFrame(frame);
    else if (due === 'heartbeat') this.write(this.periodic.heartbeat(frame));
    if (this.blocked) return now + tickMs;
    return Math.min(endAt, this.periodic.nextAt(now, allowance));
  }

  /**
   * End the stream from the server (`close()`, `maxStreamMs`, a newer tab of its browser) with
   * the frame `lastFrame` (see `start`) draws, else the latest. Until then no other frame goes
   * out. Resolves once the end is written (or the stream is gone).
   */
  endFromServer(): Promise<void> {
    if (this.finished) return Promise.resolve();
    const { lastFrame } = this;
    if (!lastFrame) {
      this.end();
      return Promise.resolve();
    }
    this.ending ??= lastFrame(this.latest?.count).then(
      (last) => this.end(last),
      () => this.end(),
    );
    return this.ending;
  }

  /**
   * Complete the current part with `last` (a frame that says the stream has ended), or else
   * the latest frame, so that the image keeps showing it; then the close-delimiter. Every
   * engine shows the part the close-delimiter completes. The connection closes after it.
   */
  end(last?: Frame): void {
    if (this.finished) return;
    const res = this.response;
    // The app's own code may have ended the response: writing again would emit an 'error' nobody handles.
    if (!res.destroyed && !res.writableEnded) {
      const shown = last ?? this.latest;
      const tail = shown ? [this.periodic.unfinishedPart(shown), this.periodic.rest(shown, 'png')] : [];
      res.end(Buffer.concat([...tail.filter((bytes) => bytes !== undefined), this.settings.format.closeDelimiter]));
    }
    // The viewer has as long to take the end as any data (a stall).
    if (!res.destroyed) closeConnectionWhenSent(res, this.settings.stallTimeoutMs);
    this.finish();
  }

  /** Destroy the connection (a stalled viewer). */
  private destroy(): void {
    this.response.destroy();
    this.finish();
  }

  private writeFrame(frame: Frame): void {
    const unfinished = this.periodic.unfinishedPart(frame);
    if (unfinished) this.write(unfinished);
    const rest = this.periodic.rest(frame, 'wire');
    // The whole frame is already framed as a chunk, once for every stream.
    this.write(rest, rest === frame.wire ? frame.chunk : undefined);
    this.periodic.wroteFrame();
  }

  /** Write `bytes` (`chunk`: the same framed as a chunk, when at hand). */
  private write(bytes: Buffer, chunk?: Buffer): void {
    if (!this.body.writable) return;
    this.periodic.wrote();
    if (!this.body.write(bytes, chunk)) {
      this.blocked = true;
      this.lastProgressAt = monotonicNow();
      this.lastWritableLength = this.body.waiting;
      // Its stall is checked at every tick from now on.
      this.settings.ticker?.soon(this);
    }
  }

  /** The socket took what was waiting (the response's `drain`). */
  drained(): void {
    this.blocked = false;
    if (this.frameWaiting && this.latest && !this.finished && !this.ending) {
      this.frameWaiting = false;
      this.writeFrame(this.latest);
      this.settings.stats.framesSent += 1;
    }
  }

  private checkStall(now: number): void {
    const waiting = this.body.waiting;
    if (waiting < this.lastWritableLength) this.lastProgressAt = now;
    this.lastWritableLength = waiting;
    if (now - this.lastProgressAt >= this.settings.stallTimeoutMs) this.destroy();
  }

  /** The response closed (the viewer left, the socket broke, or the stream was ended). */
  closed(): void {
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.frameWaiting) this.settings.stats.framesDropped += 1;
    // The listeners stay: a finished writer ignores them, and removing them (and the
    // writer from the response) costs more than it saves in a leave storm of ten thousand.
    this.latest = undefined;
    this.periodic.forget();
    this.lastFrame = undefined;
    this.onEnd();
  }
}
