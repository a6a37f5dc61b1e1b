/**
 * When a broadcaster shows a change (ARCHITECTURE.md, "How it works"): once the change has held a
 * moment, and once a window since the last broadcast has passed that grows with the audience;
 * during a join storm, at a slower steady pace.
 */

/**
 * A change is shown once it has held this long. A reload closes the old stream and opens
 * the new one a few milliseconds apart; without this, everyone else would see the count
 * flash one up or down.
 */
const SETTLE_MS = 60;
/** A broadcast costs O(streams): after one, wait this long per open stream... */
const WINDOW_MS_PER_STREAM = 0.1;
/**
 * ...but never more than this, so that a huge audience sees a change within a second of
 * it: the window, the settle time and the fan-out to ten thousand streams (a few hundred ms).
 */
const MAX_WINDOW_MS = 700;
/** While changes keep coming (a join storm), viewers get at most one frame this often... */
const STORM_WINDOW_MS = 1000;
/**
 * ...or less often for a huge audience: each storm broadcast goes to every stream (a system call
 * each, about 15 µs of server time on loopback) while the server is also accepting the storm, and
 * a join storm's CPU is what issue 23 compares with the floor; at this pace storm broadcasts take
 * about 1.5 % of a core (10 000 streams: every 10 s). The final count still shows within the
 * coalescing window once the storm stops.
 */
const STORM_MS_PER_STREAM = 1;

/** How long after a broadcast to `streams` an isolated change waits at most. */
export function coalescingWindowMs(streams: number): number {
  return Math.min(MAX_WINDOW_MS, streams * WINDOW_MS_PER_STREAM);
}

/** How long after a broadcast to `streams` the next one waits while changes keep coming. */
export function stormWindowMs(streams: number): number {
  return Math.max(STORM_WINDOW_MS, streams * STORM_MS_PER_STREAM);
}

/** The moments (monotonic ms) a broadcast depends on. */
interface PacingMoments {
  /** When the count first differed from the frame shown. */
  readonly changedAt: number;
  /** When the count last changed. */
  readonly lastChangeAt: number;
  readonly lastBroadcastAt: number;
}

/** When the next broadcast to `streams` streams may go out. */
export function nextBroadcastAt({ changedAt, lastChangeAt, lastBroadcastAt }: PacingMoments, streams: number): number {
  const held = changedAt + SETTLE_MS;
  // Changes have stopped: show the result as soon as the window allows.
  const whenQuiet = Math.max(lastBroadcastAt + coalescingWindowMs(streams), lastChangeAt + SETTLE_MS, held);
  // Changes keep coming: show where the count is, once per storm window.
  const duringStorm = Math.max(lastBroadcastAt + stormWindowMs(streams), held);
  return Math.min(whenQuiet, duringStorm);
}
