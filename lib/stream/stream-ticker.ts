import { performance } from 'node:perf_hooks';
import { monotonicNow } from '../util/clock.js';

/** What one tick lets its streams do: `MultipartWriter.tick` takes from it. */
export interface TickAllowance {
  /**
   * Periodic writes left in this tick's budget. A stream takes one for each periodic write,
   * also for one that must go out whatever the budget (a keep-alive at its cap), which can
   * take it below 0.
   */
  writes: number;
  /** Whether heartbeat bytes, and keep-alives not yet held back a period, may go out: false while the event loop is busy. */
  readonly relaxed: boolean;
}

/** A stream as the ticker sees it: see `MultipartWriter.tick`. */
export interface TickedStream {
  /**
   * Do what is due at `now`, writing only within `allowance`. Returns when the stream next has
   * something due (monotonic ms): at or before `now` when a write is due and waits for the
   * budget; undefined once the stream has ended.
   */
  tick(now: number, allowance: TickAllowance): number | undefined;
}

/**
 * Periodic writes (keep-alive re-sends, heartbeat bytes) across every stream, at most this many
 * a second in all (keep-alives at their cap excepted). Each write is a system call: about 20 µs of
 * CPU on loopback whatever its size (`npm run bench`, streams at rest), so this bounds what an
 * audience at rest costs to about 1 % of a core. Past it the period per stream grows with the
 * audience: up to 1500 streams keep the 3-s keep-alive, 5000 get one every 10 s, the cap
 * (lib/stream/periodic-writes.ts), which larger audiences keep beyond the budget (10 000 streams: 1000
 * writes a second); Firefox's heartbeats share what is left.
 */
export const PERIODIC_WRITES_PER_SECOND = 500;

/**
 * When the event loop was busier than this over the last tick (a join storm: accepting and
 * answering thousands of requests), heartbeat bytes wait, and keep-alives one period of their own
 * more (`lib/stream/periodic-writes.ts`): they would compete with accepting connections, and every
 * stream got a frame moments ago.
 * Stall checks, `maxStreamMs` and keep-alives at their cap go on.
 */
export const BUSY_LOOP = 0.8;

/** Slots of the wheel: a due time further ahead than this many ticks is looked at again then. */
const WHEEL_SLOTS = 64;

/** A stream's place in the ticker: cleared when it leaves, so that the wheel keeps nothing of it. */
interface Ticket {
  stream: TickedStream | undefined;
}

/**
 * The one timer behind every stream's periodic duties. Each stream waits in a timing wheel at the
 * tick of its next due time, so a tick costs what is due then, not a visit to every stream. A stream
 * whose write is due when the tick's budget is spent waits in a queue, and is served first at the
 * next tick, in the order it fell due: none is starved, and the total stays within the budget.
 */
export class StreamTicker {
  private readonly tickets = new Map<TickedStream, Ticket>();
  private readonly wheel: Ticket[][] = Array.from({ length: WHEEL_SLOTS }, () => []);
  /** The next slot to visit: a tick number (time ÷ tickMs, rounded down). */
  private slot = 0;
  /** Streams whose write is due and waits for the budget, oldest first. */
  private waiting: Ticket[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly writesPerTick: number;

  /** `loopBusy`: the event loop's utilisation since its last call (0–1); tests with fake timers give their own. */
  constructor(
    readonly tickMs: number,
    private readonly loopBusy: () => number = eventLoopBusy(),
  ) {
    this.writesPerTick = Math.max(1, Math.floor((PERIODIC_WRITES_PER_SECOND * tickMs) / 1000));
  }

  get size(): number {
    return this.tickets.size;
  }

  /** A new stream is visited at the next tick, which finds out what it has due. */
  add(stream: TickedStream, now = monotonicNow()): void {
    if (this.tickets.has(stream)) return;
    // The first stream since none: what waited for the ones before is gone.
    if (this.tickets.size === 0) this.restart(now);
    const ticket: Ticket = { stream };
    this.tickets.set(stream, ticket);
    this.wheel[this.slot % WHEEL_SLOTS].push(ticket);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(monotonicNow(), this.loopBusy()), this.tickMs);
      this.timer.unref();
    }
  }

  /**
   * Visit `stream` at the next tick, wherever it waits now (a writer whose socket just filled
   * up: its stall is checked every tick from then on). O(1): its old ticket is cleared.
   */
  soon(stream: TickedStream): void {
    const old = this.tickets.get(stream);
    if (!old) return;
    old.stream = undefined;
    const ticket: Ticket = { stream };
    this.tickets.set(stream, ticket);
    this.wheel[this.slot % WHEEL_SLOTS].push(ticket);
  }

  /** O(1): the stream's ticket is cleared where it waits, and dropped when its turn comes. */
  remove(stream: TickedStream): void {
    const ticket = this.tickets.get(stream);
    if (!ticket) return;
    ticket.stream = undefined;
    this.tickets.delete(stream);
    if (this.tickets.size === 0) this.stop();
  }

  /** Stop the timer (the counter closes, or no stream is left). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private restart(now: number): void {
    for (const slot of this.wheel) slot.length = 0;
    this.waiting = [];
    this.slot = this.slotOf(now) + 1;
  }

  /**
   * One round; public for tests with fake clocks. `loopBusy`: the share of the last period
   * the event loop spent working (0–1).
   */
  tick(now: number, loopBusy = 0): void {
    const allowance: TickAllowance = { writes: this.writesPerTick, relaxed: loopBusy <= BUSY_LOOP };
    // Those that waited for the budget go first; then those whose time has come (a late timer
    // catches up on every slot it missed).
    const waited = this.waiting;
    this.waiting = [];
    this.serveWaiting(waited, now, allowance);
    const last = this.slotOf(now);
    // After a pause longer than a turn of the wheel, each slot once.
    if (last - this.slot >= WHEEL_SLOTS) this.slot = last - WHEEL_SLOTS + 1;
    while (this.slot <= last) {
      const index = this.slot % WHEEL_SLOTS;
      const due = this.wheel[index];
      this.wheel[index] = [];
      this.slot += 1;
      for (const ticket of due) this.visit(ticket, now, allowance);
    }
  }

  /**
   * Visit the streams that waited, oldest first, while the budget lasts; past it only as long
   * as each still writes (a keep-alive at its cap must go out). The rest keep their places.
   */
  private serveWaiting(waited: Ticket[], now: number, allowance: TickAllowance): void {
    for (let i = 0; i < waited.length; i++) {
      const ticket = waited[i];
      const stream = ticket.stream;
      if (!stream) continue;
      if (allowance.writes > 0) {
        this.visit(ticket, now, allowance);
        continue;
      }
      const before = allowance.writes;
      const next = stream.tick(now, allowance);
      if (next !== undefined && next <= now && allowance.writes === before) {
        // Still waiting, and so are all after it (they fell due later): they keep their places.
        this.waiting = waited.slice(i).concat(this.waiting);
        return;
      }
      this.place(ticket, next, now);
    }
  }

  private visit(ticket: Ticket, now: number, allowance: TickAllowance): void {
    const stream = ticket.stream;
    if (stream) this.place(ticket, stream.tick(now, allowance), now);
  }

  /** Put a visited stream where its next due time says: waiting for the budget, in the wheel, or nowhere (it ended). */
  private place(ticket: Ticket, next: number | undefined, now: number): void {
    const stream = ticket.stream;
    if (!stream) return;
    if (next === undefined) {
      this.remove(stream);
    } else if (next <= now) {
      this.waiting.push(ticket);
    } else {
      // Never into a slot already visited, and at most a wheel's turn ahead (looked at again then).
      // A visit up to a tick early finds nothing due yet, and comes back at the next tick.
      const slot = Math.min(Math.max(this.slotOf(next), this.slot), this.slot + WHEEL_SLOTS - 1);
      this.wheel[slot % WHEEL_SLOTS].push(ticket);
    }
  }

  private slotOf(time: number): number {
    return Math.floor(time / this.tickMs);
  }
}

/** A function that gives the event loop's utilisation since its last call. */
function eventLoopBusy(): () => number {
  let before = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, before).utilization;
    before = now;
    return busy;
  };
}
