// The counter's stats() in Prometheus format with prom-client: mount the handler at /metrics.
import type { RequestHandler } from 'express';
import { Counter, Gauge, Registry } from 'prom-client';
import type { CounterStats, UserCounter } from '../lib/index.js';

type GaugeStat = 'count' | 'connections' | 'viewers' | 'rooms' | 'broadcasters' | 'frameBytes' | 'storeReachable';
type CounterStat = 'framesSent' | 'framesDropped' | 'bytesSent' | 'renders' | 'staticImages';

const GAUGES: Record<GaugeStat, [name: string, help: string]> = {
  count: ['user_counter_count', 'The total count, as the store knows it (every instance, with a shared store).'],
  connections: ['user_counter_connections', 'Open image streams on this instance.'],
  viewers: ['user_counter_viewers', 'Distinct viewers on this instance, summed over rooms (one per identity with identify).'],
  rooms: ['user_counter_rooms', 'Rooms with at least one open stream on this instance.'],
  broadcasters: ['user_counter_broadcasters', 'Frame broadcasters alive (one per room and pixel ratio in use).'],
  frameBytes: ['user_counter_frame_bytes', 'Bytes of the frames kept ready, over every room and pixel ratio (at most 32 MB).'],
  storeReachable: ['user_counter_store_reachable', '1 while the count store reaches its server (always, for the memory store); 0 during an outage.'],
};

const COUNTERS: Record<CounterStat, [name: string, help: string]> = {
  framesSent: ['user_counter_frames_sent_total', 'Frames handed to stream sockets (first frames and broadcasts, not keep-alive re-sends).'],
  framesDropped: ['user_counter_frames_dropped_total', 'Frames a slow viewer never got: replaced by a newer one while its socket was full.'],
  bytesSent: ['user_counter_bytes_sent_total', 'Bytes handed to the kernel on stream sockets.'],
  renders: ['user_counter_renders_total', 'Frames drawn.'],
  staticImages: ['user_counter_static_images_total', 'Static images served to clients that cannot stream (camo, crawlers, ?static=1).'],
};

/**
 * A registry whose metrics read `counter.stats()` when scraped (once per scrape), and an
 * Express handler serving it. A registry of its own: nothing global, two counters in one
 * process do not clash.
 */
export function counterMetrics(counter: UserCounter): { registry: Registry; handler: RequestHandler } {
  const registry = new Registry();
  let scraped: CounterStats | undefined;
  // Every metric's collect() runs in one scrape; read stats() once for all of them.
  const stats = (): CounterStats => (scraped ??= counter.stats());

  for (const [stat, [name, help]] of Object.entries(GAUGES) as [GaugeStat, [string, string]][]) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(Number(stats()[stat]));
      },
    });
  }
  for (const [stat, [name, help]] of Object.entries(COUNTERS) as [CounterStat, [string, string]][]) {
    let reported = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        // stats() only grows; a Prometheus counter is told the difference.
        const now = stats()[stat];
        if (now > reported) this.inc(now - reported);
        reported = now;
      },
    });
  }

  const handler: RequestHandler = (_req, res, next) => {
    scraped = undefined;
    registry.metrics().then((text) => {
      scraped = undefined;
      res.setHeader('Content-Type', registry.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.end(text);
    }, next);
  };
  return { registry, handler };
}
