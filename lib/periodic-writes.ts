import { monotonicNow } from './clock.js';
import type { Frame } from './multipart-format.js';
import { PNG_HEADER_LENGTH } from './multipart-format.js';

/** When a stream writes between frames; the same for every stream of a counter. */
export interface PeriodicWriteSettings {
  /** Re-send the latest frame after this long without one; 0: never. */
  readonly keepAliveMs: number;
  /** Send one byte of the next frame ahead after this long without a write; 0: never. */
  readonly heartbeatMs: number;
  /** The period of the shared tick that asks what is due (`lib/stream-ticker.ts`). */
  readonly tickMs: number;
}

/**
 * One stream's writes between frames: keep-alive re-sends of the latest frame, and (for a
 * browser that gets them, `lib/stream-framing.ts`) heartbeat bytes. Heartbeat bytes are the
 * next frame's own first bytes (every frame of one size starts with the same PNG header), so
 * they cost nothing on screen: the next frame then goes out without them. When they run out,
 * the frame is completed early, which is a keep-alive re-send.
 */
export class PeriodicWrites {
  private lastFrameAt = 0;
  private lastWriteAt = 0;
  /** Bytes of the next part's PNG already written ahead... */
  private aheadBytes = 0;
  /** ...taken from this frame (the latest when they were sent). */
  private aheadOf: Frame | undefined;

  constructor(
    private readonly settings: PeriodicWriteSettings,
    private readonly heartbeats: boolean,
  ) {}

  /** The stream wrote something. */
  wrote(): void {
    this.lastWriteAt = monotonicNow();
  }

  /** The stream wrote a whole frame. */
  wroteFrame(): void {
    this.lastFrameAt = monotonicNow();
  }

  /**
   * What is due at `now`: the whole latest frame (a keep-alive), one heartbeat byte, or nothing.
   * `heartbeats`: false while the ticker holds them back (a busy event loop).
   */
  due(now: number, heartbeats: boolean): 'frame' | 'heartbeat' | undefined {
    // Half a tick of slack: a timer that fires a millisecond early must not skip a whole tick.
    const { keepAliveMs, heartbeatMs, tickMs } = this.settings;
    const keepAliveDue = keepAliveMs > 0 && now - this.lastFrameAt >= keepAliveMs - tickMs / 2;
    const heartbeatDue = heartbeats && this.heartbeats && heartbeatMs > 0 && now - this.lastWriteAt >= heartbeatMs - tickMs / 2;
    if (keepAliveDue || (heartbeatDue && this.aheadBytes >= PNG_HEADER_LENGTH)) return 'frame';
    return heartbeatDue ? 'heartbeat' : undefined;
  }

  /** The next heartbeat: one more byte of `frame`'s PNG. */
  heartbeat(frame: Frame): Buffer {
    this.aheadOf = frame;
    this.aheadBytes += 1;
    return frame.png.subarray(this.aheadBytes - 1, this.aheadBytes);
  }

  /**
   * When the bytes sent ahead came from another kind of PNG than `frame` (another size: a
   * custom renderer), the rest of that part, to be written first so that `frame` starts a part
   * whole; those bytes are then forgotten. Else undefined.
   */
  unfinishedPart(frame: Frame): Buffer | undefined {
    const { aheadBytes, aheadOf } = this;
    if (aheadBytes === 0 || !aheadOf || sharesPrefix(aheadOf, frame, aheadBytes)) return undefined;
    this.forget();
    return aheadOf.wire.subarray(aheadBytes);
  }

  /** `frame`'s bytes (its `wire`, or its `png` alone before the close-delimiter) without those sent ahead, which are then forgotten. */
  rest(frame: Frame, bytes: 'wire' | 'png'): Buffer {
    const { aheadBytes } = this;
    this.forget();
    return aheadBytes > 0 ? frame[bytes].subarray(aheadBytes) : frame[bytes];
  }

  /** Forget the bytes sent ahead (and the frame they came from). */
  forget(): void {
    this.aheadBytes = 0;
    this.aheadOf = undefined;
  }
}

function sharesPrefix(a: Frame, b: Frame, length: number): boolean {
  return a.png.compare(b.png, 0, length, 0, length) === 0;
}
