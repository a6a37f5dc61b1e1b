import { FrameBroadcaster } from '../../lib/frames/frame-broadcaster.js';
import type { BusSubscriber } from '../../lib/frames/frame-broadcaster.js';
import { MultipartFormat } from '../../lib/stream/multipart-format.js';
import type { Frame } from '../../lib/stream/multipart-format.js';
import { PalettePngEncoder } from '../../lib/frames/png-encoder.js';
import { StreamTicker } from '../../lib/stream/stream-ticker.js';
import { FrameCache } from '../../lib/frames/frame-cache.js';
import { closeAfterEachTest } from './cleanup.js';

/*
 * A FrameBroadcaster on its own, for its unit tests: a count the test sets, a renderer that
 * records what it drew, and the counts that reached the bus.
 */

const A_PNG = new PalettePngEncoder(2, 2, new Uint8Array([0, 0, 0, 0])).encodeSync(new Uint8Array(4));

/** Every ticker made, stopped after each test: a stream left subscribed must not keep a timer running. */
const tickers: StreamTicker[] = [];
closeAfterEachTest(() => {
  for (const made of tickers.splice(0)) made.stop();
});

/**
 * A broadcaster of a count starting at `initial`; `set(n)` changes the count and tells it.
 * Its renderer fails with `cannot draw N` for the counts `failing` picks.
 */
export function startBroadcaster(initial = 0, { failing = () => false }: { failing?: (count: number) => boolean } = {}) {
  let count = initial;
  const rendered: number[] = [];
  const broadcast: number[] = [];
  const errors: Error[] = [];
  const ticker = new StreamTicker(1000);
  tickers.push(ticker);
  const broadcaster = new FrameBroadcaster({
    readCount: () => count,
    renderer: {
      render: async (n) => {
        rendered.push(n);
        if (failing(n)) throw new Error(`cannot draw ${n}`);
        return A_PNG;
      },
    },
    format: new MultipartFormat(),
    frames: new FrameCache().shelf('1'),
    ticker,
    report: (error) => errors.push(error),
  });
  broadcaster.bus.on('frame', (frame: Frame) => broadcast.push(frame.count));
  const set = (n: number) => {
    count = n;
    broadcaster.countChanged();
  };
  return { broadcaster, set, rendered, broadcast, errors };
}

/** Subscribe `n` idle streams (the window grows with them). */
export function subscribeIdle(broadcaster: FrameBroadcaster, n: number): void {
  const idle: BusSubscriber = { send: () => undefined, tick: () => Infinity };
  for (let i = 0; i < n; i++) broadcaster.subscribe({ ...idle });
}
