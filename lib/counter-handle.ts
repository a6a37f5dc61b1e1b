import type { Emitter } from 'mitt';
import type { CountRelay } from './rooms/count-relay.js';
import type { StatsRecorder } from './stream/stream-stats.js';
import type { FrameCache } from './frames/frame-cache.js';
import type { GuardedStore } from './counting/guarded-store.js';
import type { RoomRegistry } from './rooms/room-registry.js';
import type { StaticImageRoute } from './http/static-route.js';
import type { StreamRoute } from './http/stream-route.js';
import type { StreamTicker } from './stream/stream-ticker.js';
import type { CounterStats, UserCounter, UserCounterEvents } from './types/index.js';

/** The parts of one counter its handle reads and closes. */
interface CounterParts {
  readonly store: GuardedStore;
  readonly registry: RoomRegistry;
  readonly streams: StreamRoute;
  readonly staticRoute: StaticImageRoute;
  readonly frameCache: FrameCache;
  readonly stats: StatsRecorder;
  readonly ticker: StreamTicker;
  readonly relay: CountRelay;
  readonly events: Emitter<UserCounterEvents>;
}

/**
 * The handle at `router.counter`: counts, stats and events, and `close()`. A plain object of
 * closures, so its methods work detached (`server.on('close', counter.close)`).
 */
export function counterHandle(parts: CounterParts): UserCounter {
  const { store, registry, streams, staticRoute, frameCache, stats, ticker, relay, events } = parts;
  let closing: Promise<void> | undefined;
  return {
    get count() {
      return store.count();
    },
    countIn(room) {
      return store.count(room);
    },
    rooms() {
      const names = store.rooms() ?? [...registry.active()].map((room) => room.name);
      const counts = new Map<string, number>();
      for (const name of names) {
        const count = store.count(name);
        if (count > 0) counts.set(name, count);
      }
      return counts;
    },
    stats(): CounterStats {
      let viewers = 0;
      for (const room of registry.active()) viewers += room.tally.count;
      return {
        count: store.count(),
        connections: streams.openStreams.size,
        viewers,
        rooms: registry.activeCount,
        broadcasters: registry.broadcasterCount,
        staticImages: staticRoute.served,
        frameBytes: frameCache.bytes,
        ...stats.snapshot(streams.openStreams),
        storeReachable: store.reachable,
      };
    },
    events,
    close() {
      closing ??= (async () => {
        registry.close();
        ticker.stop();
        await streams.close();
        await relay.close();
      })();
      return closing;
    },
  };
}
