import { member } from './sync-protocol.js';
import { ViewerTally } from '../counting/viewer-tally.js';

/** One room on this instance: its streams, and what Redis holds of them (as last acknowledged). */
interface RoomState {
  readonly tally: ViewerTally;
  writtenAnon: number;
  readonly written: Set<string>;
  /** Viewers here and not written; written and no longer here. */
  readonly adds: Set<string>;
  readonly removes: Set<string>;
}

/** What one call sends for one room. */
interface RoomSent {
  /** Streams without a viewer, when sent. */
  readonly anon: number | undefined;
  readonly adds: readonly string[];
  readonly removes: readonly string[];
}

/** One call's content, kept until Redis acknowledges it. */
export interface Sent {
  readonly rooms: Map<string, RoomSent>;
  /** Every count was sent: rooms not in `rooms` hold none. */
  readonly allAnon: boolean;
  /** The whole viewer set (mode `full`). */
  readonly members: string[] | undefined;
}

/**
 * This instance's streams per room, and the state Redis has acknowledged: the difference is
 * what the next call sends, and what `count()` adds to the totals read from Redis.
 */
export class LocalStreams {
  private readonly byRoom = new Map<string, RoomState>();
  /** Rooms changed since the last call was sent. */
  private readonly dirty = new Set<string>();
  private writtenSize = 0;
  private localTotal = 0;

  /** A stream opened; true when this instance's count changed. */
  increment(room: string, viewer?: string): boolean {
    const state = this.state(room);
    if (!state.tally.add(viewer)) return false;
    if (viewer !== undefined && !state.removes.delete(viewer)) state.adds.add(viewer);
    this.localTotal += 1;
    this.dirty.add(room);
    return true;
  }

  /** A stream ended; true when this instance's count changed. */
  decrement(room: string, viewer?: string): boolean {
    const state = this.byRoom.get(room);
    if (!state?.tally.remove(viewer)) return false;
    if (viewer !== undefined && !state.adds.delete(viewer)) state.removes.add(viewer);
    this.localTotal -= 1;
    this.dirty.add(room);
    this.forgetIfEmpty(room, state);
    return true;
  }

  /** This instance's own count in `room`, or over every room. */
  own(room?: string): number {
    if (room === undefined) return this.localTotal;
    return this.byRoom.get(room)?.tally.count ?? 0;
  }

  /** Rooms with a stream here. */
  rooms(): string[] {
    return [...this.byRoom].filter(([, state]) => !state.tally.empty).map(([room]) => room);
  }

  /** Rooms this instance has anything in, here or in Redis. */
  knownRooms(): IterableIterator<string> {
    return this.byRoom.keys();
  }

  /** Does this instance hold the member (here, or in Redis as acknowledged)? */
  holds(room: string, viewer: string): boolean {
    const state = this.byRoom.get(room);
    return !!state && (state.tally.has(viewer) || state.written.has(viewer));
  }

  /**
   * What changed here since the state the totals include: streams without a viewer, viewers
   * new here (counted unless another instance is known to hold them), viewers gone from here
   * (uncounted unless another instance holds them). `holders(member)`: instances holding it, as known.
   */
  pending(room: string, holders: (member: string) => number | undefined): number {
    const state = this.byRoom.get(room);
    if (!state) return 0;
    let diff = state.tally.anonymous - state.writtenAnon;
    for (const viewer of state.adds) if ((holders(member(viewer, room)) ?? 0) === 0) diff += 1;
    for (const viewer of state.removes) if ((holders(member(viewer, room)) ?? 1) <= 1) diff -= 1;
    return diff;
  }

  /** Rooms where `pending` may be non-zero. */
  unsettled(): string[] {
    return [...this.byRoom].filter(([, s]) => s.tally.anonymous !== s.writtenAnon || s.adds.size > 0 || s.removes.size > 0).map(([room]) => room);
  }

  /** Take what the next call sends: the changed rooms (`delta`), also every count (`beat`), or everything (`full`). */
  take(mode: 'delta' | 'beat' | 'full'): Sent {
    const rooms = new Map<string, RoomSent>();
    const names = mode === 'full' ? [...this.byRoom.keys()] : [...new Set([...this.dirty, ...(mode === 'beat' ? this.byRoom.keys() : [])])];
    this.dirty.clear();
    for (const room of names) {
      const state = this.byRoom.get(room);
      if (!state) continue;
      const anon = mode !== 'delta' || state.tally.anonymous !== state.writtenAnon ? state.tally.anonymous : undefined;
      rooms.set(room, { anon, adds: [...state.adds], removes: [...state.removes] });
    }
    const members = mode === 'full' ? [...this.byRoom].flatMap(([room, state]) => [...state.tally.viewers()].map((viewer) => member(viewer, room))) : undefined;
    return { rooms, allAnon: mode !== 'delta', members };
  }

  /** The set's size once `sent` is applied. */
  sizeAfter(sent: Sent): number {
    if (sent.members) return sent.members.length;
    let size = this.writtenSize;
    for (const room of sent.rooms.values()) size += room.adds.length - room.removes.length;
    return size;
  }

  /** Redis has applied `sent`: it is now the written state. */
  acknowledge(sent: Sent): void {
    const rooms = sent.allAnon ? [...new Set([...this.byRoom.keys(), ...sent.rooms.keys()])] : [...sent.rooms.keys()];
    for (const room of rooms) {
      const state = this.byRoom.get(room);
      if (!state) continue;
      const change = sent.rooms.get(room);
      if (change?.anon !== undefined || sent.allAnon) state.writtenAnon = change?.anon ?? 0;
      for (const viewer of change?.adds ?? []) {
        if (state.written.has(viewer)) continue;
        state.written.add(viewer);
        this.writtenSize += 1;
        if (!state.adds.delete(viewer)) state.removes.add(viewer);
      }
      for (const viewer of change?.removes ?? []) {
        if (!state.written.delete(viewer)) continue;
        this.writtenSize -= 1;
        if (!state.removes.delete(viewer)) state.adds.add(viewer);
      }
      this.forgetIfEmpty(room, state);
    }
  }

  /** A third of the rooms (turn by turn) to check, with this instance's acknowledged viewers there. */
  slice(turn: number, parts = 3): { rooms: string[]; holds: string[] } {
    const rooms: string[] = [];
    const holds: string[] = [];
    let i = 0;
    for (const [room, state] of this.byRoom) {
      if (i++ % parts !== turn % parts) continue;
      rooms.push(room);
      for (const viewer of state.written) if (state.tally.has(viewer)) holds.push(member(viewer, room));
    }
    return { rooms, holds };
  }

  /** Forget everything (close). */
  clear(): string[] {
    const rooms = [...this.byRoom.keys()];
    this.byRoom.clear();
    this.dirty.clear();
    this.writtenSize = 0;
    this.localTotal = 0;
    return rooms;
  }

  private state(room: string): RoomState {
    let state = this.byRoom.get(room);
    if (!state) {
      state = { tally: new ViewerTally(), writtenAnon: 0, written: new Set(), adds: new Set(), removes: new Set() };
      this.byRoom.set(room, state);
    }
    return state;
  }

  private forgetIfEmpty(room: string, state: RoomState): void {
    if (state.tally.empty && state.writtenAnon === 0 && state.written.size === 0 && !this.dirty.has(room)) {
      this.byRoom.delete(room);
    }
  }
}
