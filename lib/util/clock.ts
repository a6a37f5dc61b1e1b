/**
 * Milliseconds on a clock that only goes forward at a steady pace, for every duration the
 * counter measures (settle, windows, keep-alives, heartbeats, stalls, `maxStreamMs`). The wall
 * clock (`Date.now()`) steps when NTP corrects it or a VM resumes: a step back would freeze
 * broadcasts and keep-alives for its length, a step forward end every `maxStreamMs` stream at once.
 * The global `performance` (not `node:perf_hooks`'), so that fake timers drive it in tests.
 */
export function monotonicNow(): number {
  return performance.now();
}
