import type { Emitter } from 'mitt';
import { createStoreEvents } from '../util/events.js';
import type { CountStore, CountStoreEvents } from '../types/index.js';
import { ViewerTally } from './viewer-tally.js';

/**
 * The default store: counts in this process only. With several processes (cluster,
 * PM2, containers) each shows its own viewers; use a shared store there.
 * Memory: one entry per room with a stream and per viewer in it; an empty room is forgotten.
 */
export class MemoryCountStore implements CountStore {
  readonly events: Emitter<CountStoreEvents> = createStoreEvents<CountStoreEvents>();
  readonly countsViewers = true;
  private readonly byRoom = new Map<string, ViewerTally>();
  private total = 0;

  increment(room: string, viewer?: string): void {
    let tally = this.byRoom.get(room);
    if (!tally) this.byRoom.set(room, (tally = new ViewerTally()));
    if (!tally.add(viewer)) return;
    this.total += 1;
    this.events.emit('change', { room });
  }

  decrement(room: string, viewer?: string): void {
    const tally = this.byRoom.get(room);
    if (!tally?.remove(viewer)) return;
    if (tally.empty) this.byRoom.delete(room);
    this.total -= 1;
    this.events.emit('change', { room });
  }

  count(room?: string): number {
    if (room === undefined) return this.total;
    return this.byRoom.get(room)?.count ?? 0;
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
