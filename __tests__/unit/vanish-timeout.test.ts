import type { Socket } from 'node:net';
import { VanishTimeout } from '../../lib/admission/vanish-timeout.js';
import type { SetSocketOption } from '../../lib/admission/vanish-timeout.js';
import { Warnings } from '../../lib/config/warnings.js';
import { quietLogger } from '../helpers/counter-app.js';

/** A socket as Node has it: a handle with a file descriptor; records the keep-alive asked of it. */
const keepAlives: [fd: number, enable: boolean, initialDelayMs: number][] = [];
const socketWithFd = (fd: number) =>
  ({ _handle: { fd }, setKeepAlive: (enable: boolean, initialDelayMs: number) => keepAlives.push([fd, enable, initialDelayMs]) }) as unknown as Socket;
beforeEach(() => {
  keepAlives.length = 0;
});

/** A setsockopt that records (library, fd, level, option, value) and answers `result(option)`. */
function recorder(result: (option: number) => number = () => 0) {
  const calls: { library: string | null; fd: number; level: number; option: number; value: number }[] = [];
  const load = (library: string | null): SetSocketOption => (fd, level, option, value) => {
    calls.push({ library, fd, level, option, value: new Uint32Array(value.buffer, value.byteOffset, 1)[0] });
    return result(option);
  };
  return { calls, load };
}

describe('VanishTimeout', () => {
  test('Linux: TCP_USER_TIMEOUT in ms, and TCP_RTO_MAX_MS a tenth of it (1 s at least), from the process symbols', () => {
    const { calls, load } = recorder();
    const bound = new VanishTimeout(20_000, new Warnings(quietLogger()), { platform: 'linux', load });
    expect(bound.mechanism).toEqual(['TCP_USER_TIMEOUT', 'TCP_RTO_MAX_MS']);
    expect(bound.apply(socketWithFd(7))).toBe(true);
    expect(calls).toEqual([
      { library: null, fd: 7, level: 6, option: 18, value: 20_000 },
      { library: null, fd: 7, level: 6, option: 44, value: 2000 },
    ]);
    calls.length = 0;
    new VanishTimeout(5000, new Warnings(quietLogger()), { platform: 'linux', load }).apply(socketWithFd(3));
    expect(calls.map(({ value }) => value)).toEqual([5000, 1000]);
    // Keep-alives off by default here (longestSilenceMs Infinity): the kernel's keep-alive probes from half the limit of silence on (1 s at least).
    new VanishTimeout(1000, new Warnings(quietLogger()), { platform: 'linux', load }).apply(socketWithFd(4));
    expect(keepAlives).toEqual([[7, true, 10_000], [3, true, 2500], [4, true, 1000]]);
  });

  test('the probes only where a stream may go silent longer than the limit: otherwise its next write bounds it', () => {
    const { calls, load } = recorder();
    const bound = (longestSilenceMs: number) => new VanishTimeout(20_000, new Warnings(quietLogger()), { platform: 'linux', load, longestSilenceMs });
    expect(bound(10_000).apply(socketWithFd(5))).toBe(true);
    expect(bound(20_000).apply(socketWithFd(6))).toBe(true);
    expect(bound(30_000).apply(socketWithFd(7))).toBe(true);
    expect(calls.map(({ fd }) => fd)).toEqual([5, 5, 6, 6, 7, 7]);
    expect(keepAlives).toEqual([[7, true, 10_000]]);
  });

  test('a kernel before Linux 6.15 refuses TCP_RTO_MAX_MS: the bound still holds', () => {
    const { load } = recorder((option) => (option === 44 ? -1 : 0));
    expect(new VanishTimeout(20_000, new Warnings(quietLogger()), { platform: 'linux', load }).apply(socketWithFd(7))).toBe(true);
    const { load: refusing } = recorder(() => -1);
    expect(new VanishTimeout(20_000, new Warnings(quietLogger()), { platform: 'linux', load: refusing }).apply(socketWithFd(8))).toBe(false);
    // Without the bound, probes would end a connection after their own count, not the limit: none asked.
    expect(keepAlives.map(([fd]) => fd)).toEqual([7]);
  });

  test('macOS: TCP_RXT_CONNDROPTIME in whole seconds (rounded up), from libSystem', () => {
    const { calls, load } = recorder();
    const bound = new VanishTimeout(20_500, new Warnings(quietLogger()), { platform: 'darwin', load });
    expect(bound.mechanism).toEqual(['TCP_RXT_CONNDROPTIME']);
    bound.apply(socketWithFd(9));
    expect(calls).toEqual([{ library: '/usr/lib/libSystem.B.dylib', fd: 9, level: 6, option: 0x80, value: 21 }]);
    expect(keepAlives).toEqual([[9, true, 10_250]]);
  });

  test('a system without such an option (Windows): one warning per counter, and nothing set', () => {
    const logger = quietLogger();
    const { calls, load } = recorder();
    const bound = new VanishTimeout(20_000, new Warnings(logger), { platform: 'win32', load });
    expect(bound.mechanism).toEqual([]);
    expect(bound.apply(socketWithFd(7))).toBe(false);
    expect(calls).toEqual([]);
    expect(logger.warn.mock.calls).toEqual([[expect.stringMatching(/^express-user-counter \[WRN_USER_COUNTER_NO_VANISH_TIMEOUT\]: vanishTimeoutMs cannot be applied: win32 has no socket option/)]]);
  });

  test('vanishTimeoutMs: 0 loads nothing and warns of nothing', () => {
    const logger = quietLogger();
    const load = jest.fn();
    expect(new VanishTimeout(0, new Warnings(logger), { platform: 'win32', load }).apply(socketWithFd(7))).toBe(false);
    expect(load).not.toHaveBeenCalled();
    expect(logger.warn).not.toHaveBeenCalled();
  });

  test('a socket without a file descriptor (a test double, an HTTP/2 proxy object) is left alone', () => {
    const { calls, load } = recorder();
    const bound = new VanishTimeout(20_000, new Warnings(quietLogger()), { platform: 'linux', load });
    expect(bound.apply({} as Socket)).toBe(false);
    expect(bound.apply(socketWithFd(-1))).toBe(false);
    expect(calls).toEqual([]);
  });
});
