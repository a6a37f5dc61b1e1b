import type { Socket } from 'node:net';
import type { Warnings } from '../config/warnings.js';

/*
 * A viewer whose network vanishes (a phone moving from Wi-Fi to cellular, a closed lid, a NAT or
 * carrier that forgot the connection, a tunnel) sends no FIN and no RST: its stream looks open.
 * The bytes the server sends go unacknowledged and sit in the kernel, not in Node's buffer, so no
 * check in Node sees them; Linux gives such a connection up only after `tcp_retries2` (about 15
 * minutes). The kernel can give up sooner when told how long sent bytes may stay unacknowledged:
 * `TCP_USER_TIMEOUT` on Linux (RFC 5482), `TCP_RXT_CONNDROPTIME` on macOS. Node has no call for
 * either, so it is set through koffi (an FFI library whose npm package carries prebuilt binaries
 * for each platform). A stream sends bytes at least every `keepAliveMs` (at most 10 s apart at any
 * audience, lib/stream/periodic-writes.ts), so a vanished viewer leaves within `vanishTimeoutMs` of the
 * first of them it does not acknowledge. When a stream may go silent longer than the limit
 * (keep-alives off, or a keep-alive period above it: a longer `keepAliveMs`, or the cap a large
 * audience stretches it to), the kernel's own keep-alive probes, from half the
 * limit of silence on, carry the bound: with `TCP_USER_TIMEOUT` set, Linux gives up once the limit
 * has passed since the viewer was last heard; macOS after the ten one-second probes libuv asks
 * for. With a shorter silence the next write comes first and bounds it alike, so the probes (four
 * more system calls a stream) are not asked for. A viewer on a slow or lossy link acknowledges
 * within seconds and keeps its stream; an outage shorter than the limit is survived.
 */

const IPPROTO_TCP = 6;

/** One socket option, with its value for a given `vanishTimeoutMs` (values from the system headers). */
interface SocketOption {
  readonly name: string;
  readonly option: number;
  readonly value: (timeoutMs: number) => number;
  /** Whether the bound holds without it (an option newer kernels have); its failure is then ignored. */
  readonly optional?: boolean;
}

/** Where `setsockopt` is, and the options that bound a vanished viewer on this system. */
interface PlatformOptions {
  /** The C library to find `setsockopt` in; null: the process's own symbols. */
  readonly library: string | null;
  readonly options: readonly SocketOption[];
}

const LINUX: PlatformOptions = {
  library: null,
  options: [
    { name: 'TCP_USER_TIMEOUT', option: 18, value: (ms) => ms },
    // While the network is gone, the kernel retries with a doubling interval (up to 120 s): a viewer
    // back from a 10 s outage might not be retried until 20 s had passed, and be given up. A cap of a
    // tenth of the limit (1 s at least, the kernel's floor) retries it about ten times before then.
    // Linux 6.15 and later; older kernels refuse it and keep their back-off.
    { name: 'TCP_RTO_MAX_MS', option: 44, value: (ms) => Math.min(120_000, Math.max(1000, Math.round(ms / 10))), optional: true },
  ],
};

const PLATFORMS: Partial<Record<NodeJS.Platform, PlatformOptions>> = {
  linux: LINUX,
  android: LINUX,
  // macOS counts whole seconds.
  darwin: { library: '/usr/lib/libSystem.B.dylib', options: [{ name: 'TCP_RXT_CONNDROPTIME', option: 0x80, value: (ms) => Math.ceil(ms / 1000) }] },
};

/** `setsockopt(fd, level, option, value, length)`; returns 0 or -1. */
export type SetSocketOption = (fd: number, level: number, option: number, value: Buffer, length: number) => number;

/** Finds `setsockopt` in `library`; throws why it cannot. */
export type SocketOptionLoader = (library: string | null) => SetSocketOption;

function loadWithKoffi(library: string | null): SetSocketOption {
  // An optional dependency: absent, or without a binary for this platform, it throws here.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as typeof import('koffi');
  return koffi.load(library).func('int setsockopt(int, int, int, const void *, uint32_t)') as SetSocketOption;
}

type WithFd = Socket & { _handle?: { fd?: number } | null };

/** An option ready to set: its number and its value as the kernel reads an int (host byte order). */
interface ReadyOption {
  readonly name: string;
  readonly option: number;
  readonly value: Buffer;
  readonly optional: boolean;
}

/**
 * Bounds how long the bytes sent on a stream's connection may go unacknowledged before the
 * kernel closes it (and the stream ends, uncounted). Made once per counter; `apply` costs a
 * system call or two per stream (and the keep-alive probes' four when a stream may go silent
 * longer than the limit). Where the system has no such option, or koffi cannot load, it
 * warns once and does nothing: vanished viewers then leave when the system gives up on them.
 */
export class VanishTimeout {
  private readonly setOption: SetSocketOption | undefined;
  private readonly options: readonly ReadyOption[] = [];
  /** Whether a stream may go silent longer than the limit: then the kernel's probes carry the bound. */
  private readonly probes: boolean;

  /**
   * `longestSilenceMs`: the longest a stream goes without a write (Infinity: keep-alives off;
   * `lib/stream/periodic-writes.ts`, `KEEP_ALIVE_CAP_MS`).
   */
  constructor(
    readonly timeoutMs: number,
    warnings: Warnings,
    {
      longestSilenceMs = Infinity,
      platform = process.platform,
      load = loadWithKoffi,
    }: { longestSilenceMs?: number; platform?: NodeJS.Platform; load?: SocketOptionLoader } = {},
  ) {
    this.probes = longestSilenceMs > timeoutMs;
    if (timeoutMs === 0) return;
    const platformOptions = PLATFORMS[platform];
    let problem: string | undefined;
    if (!platformOptions) {
      problem = `${platform} has no socket option for it that Node can reach`;
    } else {
      try {
        this.setOption = load(platformOptions.library);
        this.options = platformOptions.options.map(({ name, option, value, optional = false }) => ({
          name,
          option,
          value: Buffer.from(new Uint32Array([value(timeoutMs)]).buffer),
          optional,
        }));
      } catch (error) {
        problem = `the optional dependency koffi could not be loaded (${firstLine(error)})`;
      }
    }
    if (problem) {
      warnings.warn(
        'WRN_USER_COUNTER_NO_VANISH_TIMEOUT',
        `vanishTimeoutMs cannot be applied: ${problem}. A viewer whose network vanishes (no FIN, no RST) stays counted until ` +
          'the operating system gives up on the connection (about 15 minutes on Linux). ' +
          'Install koffi (npm install koffi) on Linux or macOS, or set vanishTimeoutMs: 0 to accept this.',
      );
    }
  }

  /** The socket options this counter sets (`TCP_USER_TIMEOUT`, ...); empty when it sets none. */
  get mechanism(): string[] {
    return this.options.map(({ name }) => name);
  }

  /** Bound `socket`'s unacknowledged time; returns whether the kernel took the bound (optional extras aside). */
  apply(socket: Socket): boolean {
    const setOption = this.setOption;
    if (!setOption) return false;
    // A TLS socket's handle has the TCP socket's descriptor too; a handle without one (a test double, HTTP/2's proxy) is skipped.
    const fd = (socket as WithFd)._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) return false;
    let bounded = true;
    for (const { option, value, optional } of this.options) {
      if (setOption(fd, IPPROTO_TCP, option, value, 4) !== 0 && !optional) bounded = false;
    }
    // Probes answered by a live viewer cost it nothing; they start only after this much silence.
    if (bounded && this.probes) socket.setKeepAlive(true, Math.max(1000, Math.round(this.timeoutMs / 2)));
    return bounded;
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}
