import type { Emitter } from 'mitt';
import { isListened } from '../util/events.js';
import type { GuardedStore } from '../counting/guarded-store.js';
import type { RoomRegistry } from './room-registry.js';
import type { CountStore, RoomCounts, UserCounterEvents } from '../types/index.js';

/** How many open counters use each store. */
const storeUsers = new WeakMap<CountStore, number>();

/** The counts an event about `room` carries: the total, and the room's. */
export function countsIn(store: Pick<CountStore, 'count'>, room: string): Required<RoomCounts> {
  return { count: store.count(), room, roomCount: store.count(room) };
}

/**
 * One counter's link to its store: each change the store reports reaches the room's
 * broadcasters (which redraw) and, when the total or a room's count moved, the counter's
 * `change` event. Starts the store (`init`); a store shared by several counters is closed
 * by the last of them.
 */
export class CountRelay {
  /** The total as last reported in a `change` event. */
  private lastTotal: number;

  constructor(
    private readonly store: GuardedStore,
    private readonly registry: RoomRegistry,
    private readonly events: Emitter<UserCounterEvents>,
    private readonly report: (error: Error) => void,
  ) {
    this.lastTotal = store.count();
    storeUsers.set(store.given, (storeUsers.get(store.given) ?? 0) + 1);
    store.events.on('change', this.onStoreChange);
    store.events.on('error', report);
    void store.init();
  }

  /** Stop relaying; the last counter using the store closes it (its errors are reported until then). */
  async close(): Promise<void> {
    const { store } = this;
    store.events.off('change', this.onStoreChange);
    const users = (storeUsers.get(store.given) ?? 1) - 1;
    storeUsers.set(store.given, users);
    if (users === 0) await store.close();
    store.events.off('error', this.report);
  }

  private readonly onStoreChange = ({ room: name }: { room: string }): void => {
    const room = this.registry.get(name);
    if (room) for (const channel of room.channels.values()) channel.broadcaster.countChanged();
    const count = this.store.count();
    const roomCount = this.store.count(name);
    // A room without streams here is not remembered: its changes show through the total.
    const roomChanged = room !== undefined && room.lastCount !== roomCount;
    if (room) room.lastCount = roomCount;
    if (count !== this.lastTotal || roomChanged) {
      this.lastTotal = count;
      if (isListened(this.events, 'change')) this.events.emit('change', { count, room: name, roomCount });
    }
  };
}
