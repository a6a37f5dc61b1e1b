import type { Emitter } from 'mitt';
import { createStoreEvents } from './events.js';
import type { CountStore, CountStoreEvents } from './types.js';

/** One room's streams: those without a viewer, and each viewer's number of streams. */
interface RoomStreams {
  anonymous: number;
  readonly viewers: Map<string, number>;
}

/**
 * The default store: counts in this process only. With several processes (cluster,
 * PM2, containers) each shows its own viewers; use a shared store there.
 * Memory: one entry per room with a stream and per viewer in it; an empty room is forgotten.
 */
export class MemoryCountStore implements CountStore {
  readonly events: Emitter<CountStoreEvents> = createStoreEvents<CountStoreEvents>();
  readonly countsViewers = true;
  private readonly byRoom = new Map<string, RoomStreams>();
  private total = 0;

  increment(room: string, viewer?: string): void {
    let streams = this.byRoom.get(room);
    if (!streams) {
      streams = { anonymous: 0, viewers: new Map() };
      this.byRoom.set(room, streams);
    }
    if (viewer === undefined) {
      streams.anonymous += 1;
    } else {
      const held = streams.viewers.get(viewer) ?? 0;
      streams.viewers.set(viewer, held + 1);
      // Another stream of a viewer already counted changes no count.
      if (held > 0) return;
    }
    this.total += 1;
    this.events.emit('change', { room });
  }

  decrement(room: string, viewer?: string): void {
    const streams = this.byRoom.get(room);
    if (!streams) return;
    if (viewer === undefined) {
      if (streams.anonymous === 0) return;
      streams.anonymous -= 1;
    } else {
      const held = streams.viewers.get(viewer) ?? 0;
      if (held === 0) return;
      if (held > 1) {
        streams.viewers.set(viewer, held - 1);
        return;
      }
      streams.viewers.delete(viewer);
    }
    if (streams.anonymous === 0 && streams.viewers.size === 0) this.byRoom.delete(room);
    this.total -= 1;
    this.events.emit('change', { room });
  }

  count(room?: string): number {
    if (room === undefined) return this.total;
    const streams = this.byRoom.get(room);
    return streams ? streams.anonymous + streams.viewers.size : 0;
  }

  rooms(): string[] {
    return [...this.byRoom.keys()];
  }

  async close(): Promise<void> {
    const rooms = [...this.byRoom.keys()];
    this.byRoom.clear();
    this.total = 0;
    for (const room of rooms) this.events.emit('change', { room });
  }
}
