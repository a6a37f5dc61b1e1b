import { HashTable } from './frame-hash.js';
import { BenchViewer, loopbackAddress } from './viewer.js';
import type { ViewerBrowser } from './viewer.js';
import { notify, now, serve } from './ipc.js';
import type { Message } from './ipc.js';

/**
 * A client process: opens its share of the viewers on request, tells the parent
 * when every one of them holds the target frame, and answers questions about them.
 * `ulimit -n` is per process, so 10 000 viewers are spread over several of these.
 */

const hashes = new HashTable();
let viewers: BenchViewer[] = [];
let target = -1;
let holding = 0;
let settledReported = false;
/** Every distinct frame any viewer received since the last `open`. */
let seen = new Set<number>();

function onFrame(viewer: BenchViewer, previous: number): void {
  seen.add(viewer.current);
  if (target < 0 || viewer.current === previous) return;
  if (previous === target) holding -= 1;
  if (viewer.current === target) holding += 1;
  checkSettled();
}

function checkSettled(): void {
  const settled = target >= 0 && viewers.length > 0 && holding === viewers.length;
  if (settled !== settledReported) {
    settledReported = settled;
    notify(settled ? 'settled' : 'unsettled', { at: now() });
  }
}

function setTarget(hash: string): void {
  target = hashes.id(hash);
  holding = viewers.filter((viewer) => viewer.current === target).length;
  settledReported = false;
  checkSettled();
}

serve({
  /** Open `count` viewers at once, numbered from `first` (their loopback addresses), as `browser` (Chromium by default). */
  open(message: Message) {
    const { port, path, count, first, target: hash, timeoutMs, browser } = message as unknown as {
      port: number; path: string; count: number; first: number; target: string; timeoutMs: number; browser?: ViewerBrowser;
    };
    viewers = [];
    seen = new Set();
    setTarget(hash);
    const startAt = now();
    return new Promise((resolve) => {
      let opened = 0;
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        // Past the timeout, a viewer still waiting for its response is given up (and
        // closed, so that the server's count and the viewers here agree).
        const late = viewers.filter((viewer) => viewer.connectedAt === 0 && !viewer.error);
        for (const viewer of late) {
          viewer.error = 'no response within the timeout';
          viewer.close();
        }
        const ok = viewers.filter((viewer) => viewer.status === 200 && !viewer.error);
        const errors = new Map<string, number>();
        for (const viewer of viewers) {
          if (viewer.error) errors.set(viewer.error, (errors.get(viewer.error) ?? 0) + 1);
        }
        viewers = ok;
        setTarget(hash);
        resolve({
          startAt,
          firstConnectAt: Math.min(...ok.map((viewer) => viewer.connectedAt)),
          lastConnectAt: Math.max(...ok.map((viewer) => viewer.connectedAt)),
          connected: ok.length,
          errors: Object.fromEntries(errors),
        });
      };
      const timer = setTimeout(finish, timeoutMs);
      for (let i = 0; i < count; i++) {
        const viewer = new BenchViewer(hashes, onFrame);
        viewers.push(viewer);
        viewer.open({ port, path, localAddress: loopbackAddress(first + i), browser }, () => {
          opened += 1;
          if (opened === count) finish();
        });
      }
    });
  },

  /** From now on, report when every viewer holds the frame with this hash. */
  target(message: Message) {
    setTarget(message.hash as string);
    return { holding };
  },

  /** For each viewer: since when it has held the frame with `hash`, or null. */
  heldSince(message: Message) {
    const id = hashes.id(message.hash as string);
    return { times: viewers.map((viewer) => (viewer.current === id ? viewer.heldSince : null)) };
  },

  /** Per-viewer counters, as columns. */
  stats() {
    return {
      frames: viewers.map((viewer) => viewer.frames),
      repeats: viewers.map((viewer) => viewer.repeats),
      changes: viewers.map((viewer) => viewer.changes.length),
      maxChangesPerSecond: viewers.map((viewer) => viewer.maxChangesWithin(1000)),
      bytes: viewers.map((viewer) => viewer.bytes),
      firstFrameBytes: viewers.map((viewer) => viewer.firstFrameBytes),
      connectDelay: viewers.map((viewer) => (viewer.connectedAt ? viewer.connectedAt - viewer.openedAt : null)),
      firstFrameDelay: viewers.map((viewer) => (viewer.firstFrameAt ? viewer.firstFrameAt - viewer.connectedAt : null)),
      ended: viewers.filter((viewer) => viewer.ended).length,
      framesSeen: [...seen].map((id) => hashes.names[id]),
    };
  },

  /** Every viewer leaves at once, as when their pages close. */
  leave() {
    for (const viewer of viewers) viewer.close();
    const doneAt = now();
    viewers = [];
    target = -1;
    return { doneAt };
  },
});

notify('ready');
