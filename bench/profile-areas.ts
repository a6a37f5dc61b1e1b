/**
 * A profile's busy time by area: who spent it (Express, Node's HTTP, the counter's own code, the
 * garbage collector) and which system calls (socket writes by purpose, socket options). It is how
 * the bench README says where a join storm's CPU goes beyond the floor's.
 *
 * Each sample is charged to the function it was in. A native function (no script of its own) is
 * charged to the area of the nearest caller that has one, except the natives named below: writes
 * to a socket (most of their time is the kernel's TCP path, on loopback the receiver's as well),
 * and socket options and addresses (a system call each).
 */

/** One frame of a sampled stack, innermost first. */
export interface SampledFrame {
  readonly functionName: string;
  /** The script's path as the summary prints it (`lib/...`, `node_modules/...`, `node:...`), or '' for a native. */
  readonly location: string;
}

const WRITES = new Set(['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString', 'writeUcs2String']);
const SOCKET_CALLS = new Set(['setsockopt', 'setKeepAlive', 'setNoDelay', 'getpeername', 'getsockname']);
/** Where the counter calls `setsockopt` through koffi. */
const VANISH_TIMEOUT = 'lib/admission/vanish-timeout.ts';

/**
 * What asked for a write, by a script on its stack: the fan-out of a broadcast runs in slices
 * (`lib/util/events.ts`), periodic writes from the ticker; a response's head and first bytes are
 * flushed together by Node on the next tick (`connectionCorkNT`), with no caller of the counter's
 * on the stack. The counter's own scripts are looked for first.
 */
const WRITE_PURPOSES: readonly [script: string, area: string][] = [
  ['lib/util/events.ts', 'socket writes: broadcasts of a new count'],
  ['lib/frames/', 'socket writes: broadcasts of a new count'],
  ['lib/stream/stream-ticker.ts', 'socket writes: keep-alives and heartbeats'],
  ['node:_http_outgoing', 'socket writes: a response’s head and first frame'],
];

/** The area a sample belongs to, from its stack (innermost frame first). */
export function areaOf(stack: readonly SampledFrame[]): string {
  const leaf = stack[0];
  if (!leaf) return 'other';
  if (leaf.functionName === '(garbage collector)') return 'garbage collection';
  if (leaf.functionName === '(program)') return 'V8 and native code outside any function';
  if (leaf.location === '' && WRITES.has(leaf.functionName)) {
    for (const [script, area] of WRITE_PURPOSES) {
      if (stack.some((frame) => frame.location.startsWith(script))) return area;
    }
    return 'socket writes: other';
  }
  if (leaf.location === '' && SOCKET_CALLS.has(leaf.functionName)) return 'socket options and addresses (system calls)';
  const scripted = stack.find((frame) => frame.location !== '');
  // koffi's call of setsockopt: the profiler may give it the name of any native symbol nearby.
  if (leaf.location === '' && scripted?.location === VANISH_TIMEOUT) return 'socket options and addresses (system calls)';
  return scripted ? areaOfScript(scripted.location) : 'other';
}

function areaOfScript(location: string): string {
  if (location.startsWith('lib/')) return 'the counter (lib/)';
  if (location.startsWith('node_modules/koffi')) return 'socket options and addresses (system calls)';
  if (location.startsWith('node_modules/')) return 'Express, its router and their dependencies (node_modules)';
  if (location.startsWith('node:')) return 'Node’s HTTP server, sockets and streams (node:)';
  if (location.startsWith('bench/')) return 'the bench’s own counting (bench/)';
  return 'other';
}
