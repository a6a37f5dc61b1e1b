import { monotonicNow } from '../util/clock.js';
import type { Frame } from './multipart-format.js';
import { PNG_HEADER_LENGTH } from './multipart-format.js';
import type { TickAllowance } from './stream-ticker.js';

/** When a stream writes between frames; the same for every stream of a counter. */
export interface PeriodicWriteSettings {
  /** Re-send the latest frame after this long without one; 0: never. */
  readonly keepAliveMs: number;
  /** Send one byte of the next frame ahead after this long without a write; 0: never. */
  readonly heartbeatMs: number;
  /** The period of the shared tick that asks what is due (`lib/stream/stream-ticker.ts`). */
  readonly tickMs: number;
}

/**
 * The longest a stream goes without a whole frame when keep-alives are on, whatever the write
 * budget or a busy event loop (a longer `keepAliveMs` is its own cap); the budget stretches the
 * keep-alive this far at 5000 streams, and past that the cap wins over the budget (10 000 streams:
 * 1000 writes a second). It bounds what waits on the next whole part: a vanished viewer (seen
 * `vanishTimeoutMs` after the first write it does not acknowledge: 10 + 20 s at most, the 30 s
 * the README promises), a proxy's idle limit (the shortest documented is 30 s), a closed page
 * behind HAProxy or Apache (noticed at their second write), and Firefox's stream of a page
 * navigated away from (dropped when a whole part arrives).
 */
export const KEEP_ALIVE_CAP_MS = 10_000;

/** The longest a stream goes without a write with this `keepAliveMs`; Infinity when keep-alives are off. */
export function longestSilenceMs(keepAliveMs: number): number {
  return keepAliveMs > 0 ? Math.max(KEEP_ALIVE_CAP_MS, keepAliveMs) : Infinity;
}

/**
 * Each stream reaches its cap somewhere in this much before it (chosen at random per stream):
 * the streams of one join storm, all framed at the same moment, would otherwise reach it together
 * and the ones past the budget (6500 of 10 000) would be written in one tick, holding the event
 * loop for a few hundred milliseconds every 10 s.
 */
export const KEEP_ALIVE_CAP_SPREAD_MS = 2000;

/** A write held back while the event loop is busy is looked at again this much later... */
const HELD_BACK_MS = 1000;
/**
 * ...and a keep-alive is held back at most this many periods of its own (then it waits only for
 * the budget): behind HAProxy or Apache a closed page is noticed at their second write, so with
 * their recipes' short `keepAliveMs` a hold until the cap would keep a departed viewer counted for
 * seconds on a busy server.
 */
const HELD_BACK_PERIODS = 1;

/**
 * One stream's writes between frames: keep-alive re-sends of the latest frame, and (for a
 * browser that gets them, `lib/stream/stream-framing.ts`) heartbeat bytes. Heartbeat bytes are the
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
  /** The longest this stream goes without a whole frame: the cap, less its share of the spread. */
  private readonly capMs: number;

  constructor(
    private readonly settings: PeriodicWriteSettings,
    private readonly heartbeats: boolean,
  ) {
    const cap = Math.max(KEEP_ALIVE_CAP_MS, settings.keepAliveMs);
    this.capMs = cap - Math.random() * Math.min(KEEP_ALIVE_CAP_SPREAD_MS, cap - settings.keepAliveMs);
  }

  /** The stream wrote something. */
  wrote(): void {
    this.lastWriteAt = monotonicNow();
  }

  /** The stream wrote a whole frame. */
  wroteFrame(): void {
    this.lastFrameAt = monotonicNow();
  }

  /**
   * What to write at `now`: the whole latest frame (a keep-alive), one heartbeat byte, or
   * nothing; a write takes one from `allowance`. A keep-alive at its cap goes out whatever
   * `allowance` says; otherwise nothing goes out past the budget, and while the loop is busy only
   * a keep-alive held back a period of its own already.
   */
  due(now: number, allowance: TickAllowance): 'frame' | 'heartbeat' | undefined {
    const { keepAliveMs, heartbeatMs, tickMs } = this.settings;
    // Half a tick of slack: a timer that fires a millisecond early must not skip a whole tick.
    const slack = tickMs / 2;
    const sinceFrame = now - this.lastFrameAt;
    const keepAliveDue = keepAliveMs > 0 && sinceFrame >= keepAliveMs - slack;
    if (keepAliveDue && sinceFrame >= this.capMs - slack) {
      allowance.writes -= 1;
      return 'frame';
    }
    if (allowance.writes <= 0) return undefined;
    if (!allowance.relaxed && !(keepAliveDue && sinceFrame >= this.heldUntilMs - slack)) return undefined;
    const heartbeatDue = allowance.relaxed && this.heartbeats && heartbeatMs > 0 && now - this.lastWriteAt >= heartbeatMs - slack;
    if (!keepAliveDue && !heartbeatDue) return undefined;
    allowance.writes -= 1;
    return keepAliveDue || this.aheadBytes >= PNG_HEADER_LENGTH ? 'frame' : 'heartbeat';
  }

  /**
   * When the ticker should look at this stream again, after `due` at `now`: when its next write
   * falls due; `now` when one is due and waits for the budget; a moment later when the busy loop
   * holds it back (a keep-alive at most a period of its own, and never past its cap). Infinity: no
   * periodic write at all.
   */
  nextAt(now: number, allowance: TickAllowance): number {
    const { keepAliveMs, heartbeatMs, tickMs } = this.settings;
    const keepAliveAt = keepAliveMs > 0 ? this.lastFrameAt + keepAliveMs : Infinity;
    const heartbeatAt = this.heartbeats && heartbeatMs > 0 ? this.lastWriteAt + heartbeatMs : Infinity;
    const next = Math.min(keepAliveAt, heartbeatAt);
    if (next - tickMs / 2 > now) return next;
    if (allowance.relaxed) return now;
    return Math.max(now + tickMs, Math.min(now + HELD_BACK_MS, keepAliveMs > 0 ? this.lastFrameAt + this.heldUntilMs : Infinity));
  }

  /** How long after a whole frame a keep-alive stops waiting for a busy loop: a period of its own held back, or its cap. */
  private get heldUntilMs(): number {
    return Math.min(this.capMs, (1 + HELD_BACK_PERIODS) * this.settings.keepAliveMs);
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
