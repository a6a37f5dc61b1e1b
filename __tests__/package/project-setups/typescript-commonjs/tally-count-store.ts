import mitt from 'mitt';
import type { CountStore, CountStoreEvents } from 'express-user-counter';

/** A store of the app's own: open streams per room, and every call the middleware made. */
export class TallyCountStore implements CountStore {
  readonly events = mitt<CountStoreEvents>();
  readonly calls: string[] = [];
  private readonly streams = new Map<string, number>();

  increment(room: string): void {
    this.calls.push('increment');
    this.streams.set(room, this.count(room) + 1);
    this.events.emit('change', { room });
  }

  decrement(room: string): void {
    this.calls.push('decrement');
    if (this.count(room) === 0) return;
    this.streams.set(room, this.count(room) - 1);
    this.events.emit('change', { room });
  }

  count(room?: string): number {
    if (room !== undefined) return this.streams.get(room) ?? 0;
    return [...this.streams.values()].reduce((total, n) => total + n, 0);
  }
}
