import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The benchmark's plumbing: one clock for every process, request/reply over the
 * IPC channel of a forked child (support/ipc.ts, shared with the tests), and the
 * kernel's view of a child's CPU and RSS (read from /proc, so a busy child's event
 * loop does not delay the reading).
 */

export { Child, notify, serve } from '../support/ipc.js';
export type { Message } from '../support/ipc.js';

/** Milliseconds since the epoch with sub-millisecond resolution, comparable across processes. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Wait `ms`: Node's own promise timer, for the scenarios to pace themselves. */
export { sleep };

/** Check every `everyMs` until `check` holds (true) or `timeoutMs` has passed (false). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return false;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU seconds of a process, as the kernel counts them (10 ms resolution). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // The command name (field 2) may contain spaces; the fields after it are space-separated.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size of a process in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return Number(kb) * 1024;
}

/**
 * The kernel's TCP counters for this network namespace (all processes, since boot):
 * `ListenOverflows` counts handshakes dropped because a listen queue was full (the
 * server did not accept fast enough), `TCPSynRetrans` SYNs sent again after such a drop.
 */
export function tcpCounters(): { listenOverflows: number; synRetransmits: number } {
  try {
    const [names, values] = readFileSync('/proc/net/netstat', 'latin1')
      .split('\n')
      .filter((line) => line.startsWith('TcpExt:'))
      .map((line) => line.split(/\s+/));
    const get = (name: string) => Number(values[names.indexOf(name)] ?? NaN);
    return { listenOverflows: get('ListenOverflows'), synRetransmits: get('TCPSynRetrans') };
  } catch {
    return { listenOverflows: NaN, synRetransmits: NaN };
  }
}
