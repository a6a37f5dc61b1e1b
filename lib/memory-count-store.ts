import type { Emitter } from 'mitt';
import { createStoreEvents } from './events.js';
import type { CountStore, CountStoreEvents } from './types.js';

/**
 * The default store: counts in this process only. With several processes (cluster,
 * PM2, containers) each shows its own viewers; use a shared store there.
 */
export class MemoryCountStore implements CountStore {
  readonly events: Emitter<CountStoreEvents> = createStoreEvents<CountStoreEvents>();
  private readonly rooms = new Map<string, number>();
  private total = 0;

  increment(room: string): void {
    this.rooms.set(room, (this.rooms.get(room) ?? 0) + 1);
    this.total += 1;
    this.events.emit('change', { room });
  }

  decrement(room: string): void {
    const count = this.rooms.get(room) ?? 0;
    if (count === 0) return;
    if (count === 1) this.rooms.delete(room);
    else this.rooms.set(room, count - 1);
    this.total -= 1;
    this.events.emit('change', { room });
  }

  count(room?: string): number {
    return room === undefined ? this.total : (this.rooms.get(room) ?? 0);
  }

  async close(): Promise<void> {
    const rooms = [...this.rooms.keys()];
    this.rooms.clear();
    this.total = 0;
    for (const room of rooms) this.events.emit('change', { room });
  }
}
