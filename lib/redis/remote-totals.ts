import type { SyncValues } from './sync-protocol.js';

/**
 * The totals as Redis last told this instance, each with the `seq` it was read at: a value
 * older than the one held is ignored, so replies and hints may arrive in any order.
 */
export class RemoteTotals {
  /** False before the first answer and after Redis was unreachable for a TTL: counts are this instance's own. */
  valid = false;
  private readonly totals = new Map<string, { count: number; seq: number }>();
  private sum = { count: 0, seq: -1 };
  /** How many instances hold each of this instance's viewers (members), as last told. */
  private readonly holders = new Map<string, { count: number; seq: number }>();
  /** The HSCAN of `totals`, one page per heartbeat: finds the rooms this instance does not show. */
  private cursor = '0';
  private seenThisPass = new Set<string>();
  private passStartSeq = 0;

  total(room: string): number {
    return this.totals.get(room)?.count ?? 0;
  }

  overall(): number {
    return this.sum.count;
  }

  holdersOf(member: string): number | undefined {
    return this.holders.get(member)?.count;
  }

  /** Rooms with a total above 0. */
  rooms(): string[] {
    return [...this.totals].filter(([, value]) => value.count > 0).map(([room]) => room);
  }

  /** The cursor for the next call's HSCAN page. */
  nextCursor(): string {
    return this.cursor;
  }

  /**
   * Apply values read at `values.seq`; returns the rooms whose total changed.
   * `keepHolders(member)`: whether this instance holds the member (only those are kept).
   */
  apply(values: SyncValues, keepHolders: (member: string) => boolean): string[] {
    this.valid = true;
    const changed: string[] = [];
    for (const [room, count] of values.rooms) if (this.set(room, count, values.seq)) changed.push(room);
    if (values.seq >= this.sum.seq) this.sum = { count: values.sum, seq: values.seq };
    for (const [member, count] of values.refs) {
      if ((this.holders.get(member)?.seq ?? -1) > values.seq) continue;
      if (keepHolders(member)) this.holders.set(member, { count, seq: values.seq });
      else this.holders.delete(member);
    }
    return changed;
  }

  /** One HSCAN page read at `seq`; at the end of a pass, rooms it never saw (and not `own`) are gone. */
  applyScan(page: [string, number][], cursor: string, seq: number, own: (room: string) => boolean): string[] {
    const changed: string[] = [];
    for (const [room, count] of page) {
      this.seenThisPass.add(room);
      if (this.set(room, count, seq)) changed.push(room);
    }
    this.cursor = cursor;
    if (cursor === '0') {
      for (const [room, value] of this.totals) {
        if (!this.seenThisPass.has(room) && !own(room) && value.seq < this.passStartSeq) {
          this.totals.delete(room);
          changed.push(room);
        }
      }
      this.seenThisPass = new Set();
      this.passStartSeq = seq;
    }
    return changed;
  }

  /** Drop a member this instance no longer holds. */
  release(member: string): void {
    this.holders.delete(member);
  }

  /** Forget everything read (Redis unreachable for a TTL, or close); returns the rooms known. */
  forget(): string[] {
    const rooms = [...this.totals.keys()];
    this.valid = false;
    this.totals.clear();
    this.holders.clear();
    this.sum = { count: 0, seq: -1 };
    this.cursor = '0';
    this.seenThisPass = new Set();
    return rooms;
  }

  private set(room: string, count: number, seq: number): boolean {
    const held = this.totals.get(room);
    if (held && held.seq > seq) return false;
    // A 0 is kept (with its seq) until the next pass, so that an older value cannot bring the room back.
    this.totals.set(room, { count, seq });
    return (held?.count ?? 0) !== count;
  }
}
